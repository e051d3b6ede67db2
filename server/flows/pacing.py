"""The minimum time a reply to a reset or unlock step takes.

Whoever is asked for (unknown, unenrolled, enrolled, locked out), the work differs a little:
a directory entry found or not, a record written, an alert queued. Replies are held back to
`security.reply_floor_ms` after the request arrived, so what is left to time is the floor.
The wait is in the event loop (see `service`), not in a worker thread.
"""

from __future__ import annotations

from pwreset.config.schema import Config

PACED_OPERATIONS = frozenset({"reset.start", "reset.step", "unlock.start", "unlock.step"})


def reply_floor(config: Config, op: str) -> float:
    """Seconds a reply to `op` takes at least."""
    if op not in PACED_OPERATIONS:
        return 0.0
    return config.security.reply_floor_ms / 1000.0
