"""Rejected datagrams in the log, without letting a flood fill the disk.

Anyone who can reach the server's port can send garbage, and a line per datagram would be a
line per packet: gigabytes a day on the disk that also holds the database. So the first
rejection of each reason in a minute is logged with its sender, the others are counted,
and one line sums them up when the minute is over.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable

# How long a reason's first line stands for all its rejections.
INTERVAL = 60.0


class RejectionLog:
    """Call `note` for each rejected datagram and `flush` at least every INTERVAL seconds
    while `pending` (the service schedules it); not thread-safe (the event loop's)."""

    def __init__(self, log: logging.Logger, clock: Callable[[], float] = time.monotonic) -> None:
        self._log = log
        self._clock = clock
        self._start = clock()
        self._logged: set[str] = set()
        self._quiet: Counter[str] = Counter()

    @property
    def pending(self) -> bool:
        """Whether rejections are waiting for their summary line."""
        return bool(self._quiet)

    def note(self, reason: str, sender: tuple[str, int], size: int) -> bool:
        """Log the rejection, or count it; True if it was counted (a summary is due)."""
        if self._clock() - self._start >= INTERVAL:
            self.flush()
        if reason in self._logged:
            self._quiet[reason] += 1
            return True
        self._logged.add(reason)
        self._log.warning(
            "rejected a datagram from %s:%s (%d bytes): %s", sender[0], sender[1], size, reason
        )
        return False

    def flush(self) -> None:
        """Sum up what was counted since the last flush, and start a new interval."""
        if self._quiet:
            reasons = ", ".join(f"{reason} {n}" for reason, n in sorted(self._quiet.items()))
            total = sum(self._quiet.values())
            self._log.warning(
                "rejected %d more datagram(s) in the last %d seconds, not logged one by one: %s",
                total,
                round(self._clock() - self._start),
                reasons,
            )
        self._quiet.clear()
        self._logged.clear()
        self._start = self._clock()
