"""After an unclean stop (kill -9, power cut): the audit rows of operations whose record was
saved but whose row was not yet written.

A flow saves the user's record, then appends its audit row, each write durable. A stop
between the two left a done enroll, reset, unlock or change out of the audit log (found by
the crash bench, issue 9). The record's `last_*` time says the operation was done, so on
the next start every record changed shortly before the stop is matched against the audit
log, and a missing row is written, marked as restored, with the record's time.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime

from pwreset.server.storage import AuditEvent, Database

log = logging.getLogger("pwreset.server")

# The record's field, the sources and event texts of the row its flows write after it.
_DONE: dict[str, tuple[frozenset[str], frozenset[str], str, str]] = {
    "last_enroll": (
        frozenset({"enroll", "reset", "unlock"}),
        frozenset({"enrolled", "auto-enrolled"}),
        "enroll",
        "enrolled",
    ),
    "last_reset": (frozenset({"reset"}), frozenset({"password reset"}), "reset", "password reset"),
    "last_unlock": (
        frozenset({"unlock"}),
        frozenset({"account unlocked"}),
        "unlock",
        "account unlocked",
    ),
    "last_change": (
        frozenset({"change"}),
        frozenset({"password changed"}),
        "change",
        "password changed",
    ),
}
RESTORED = " (row restored at start-up: the server stopped before writing it)"
# Flows in flight when the server stopped saved their records seconds before; a row is
# looked for only for records changed this long before the newest time stored.
MARGIN = 300.0


def restore_missing_audit(db: Database) -> list[AuditEvent]:
    """Write the rows missing after an unclean stop; the rows written."""
    rows = list(db.users.rows())
    newest = max(
        [_newest_audit_time(db), *(row[f] or 0.0 for row in rows for f in _DONE)], default=0.0
    )
    since = newest - MARGIN
    recent = [row for row in rows if any((row[f] or 0.0) >= since for f in _DONE)]
    if not recent:
        return []
    audited: dict[tuple[str, str], list[AuditEvent]] = {}
    for e in db.audit.query(since=since):
        if e.type == "success":
            audited.setdefault((e.domain, e.user), []).append(e)
    written = []
    for row in recent:
        for field, (sources, events, source, event) in _DONE.items():
            done = row[field]
            if done is None or done < since:
                continue
            mine = audited.get((row["domain"], row["username"]), [])
            if _has_row(mine, sources, events, done):
                continue
            restored = AuditEvent(
                "success", source, row["username"], row["domain"], event + RESTORED, time=done
            )
            db.audit.append(restored)
            written.append(restored)
            log.warning(
                "audit: restored the row of a %s of user=%s domain=%s done just before an "
                "unclean stop",
                source,
                row["username"],
                row["domain"],
            )
    return written


def _has_row(
    audited: Iterable[AuditEvent], sources: frozenset[str], events: frozenset[str], done: float
) -> bool:
    # The row is written after the record, with a later reading of the same clock.
    return any(
        e.source in sources and e.event.removesuffix(RESTORED) in events and e.time >= done
        for e in audited
    )


def _newest_audit_time(db: Database) -> float:
    segments = db.audit.segments()
    if not segments:
        return 0.0
    day = datetime.strptime(segments[-1][0], "%Y-%m-%d").replace(tzinfo=UTC)
    return max((e.time for e in db.audit.query(since=day.timestamp())), default=0.0)
