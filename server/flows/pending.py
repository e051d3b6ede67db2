"""Work an unclean stop (kill -9, power cut) cut short, and how the next start completes it.

Directory writes: a reset, unlock or change writes the directory first, then pwreset's
record and audit row. The directory and the store cannot commit together, so a server killed
between the two would leave a password changed or an account unlocked that pwreset never
recorded (found by the crash test, issue 9). The flow therefore notes the write before asking
the directory and clears the note once the outcome is stored and audited. A note found at
start-up is a write cut short: the directory says whether it happened (a password set since
the note, an account no longer locked), and if so it is recorded and audited then, marked as
restored.

Audit rows: a flow saves the user's record, then appends its audit row, each write durable.
A stop between the two left a done enroll, reset, unlock or change out of the audit log
(found by the crash bench, issue 9). The record's `last_*` time says the operation was done,
so on the next start every record changed shortly before the stop is matched against the
audit log, and a missing row is written, marked as restored, with the record's time.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime

from pwreset.server.directory.base import Directory, DirectoryError, DirectoryUser
from pwreset.server.storage import AuditEvent, Store
from pwreset.server.storage.errors import StorageError

log = logging.getLogger("pwreset.server")

RESTORED = " (row restored at start-up: the server stopped before writing it)"

PREFIX = "pending\0"

# Written when an enroll session opens, before anything in it moves `last_enroll`.
SESSION_STARTED = "enroll session started"
# The record's field, the sources and event texts of the row its flows write after it (for
# `last_enroll`, see `_records`). A row lost after a factor action is restored as "enrolled".
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
# The record field and the audit event of each directory write (enroll writes none).
_OUTCOME = {
    source: (field, event) for field, (_, _, source, event) in _DONE.items() if source != "enroll"
}


@contextlib.contextmanager
def noted(
    db: Store,
    op: str,
    domain: str,
    user: DirectoryUser | None,
    typed: str,
    now: float,
    *,
    row: tuple[str, str] | None = None,
) -> Iterator[None]:
    """Hold around the directory write and the storing of its outcome (or its refusal).
    `user` is the account as read just before the write: its password stamp then is what
    tells, after a kill, whether the write happened. `row` is the (source, event) of the
    audit row a write that is not the user's own (the help desk's) writes instead of the
    flow's; no record field is set for it."""
    key = PREFIX + secrets.token_hex(12)
    note: dict[str, object] = {
        "op": op,
        "domain": domain,
        "user": user.username if user else typed,
        "before": user.password_set if user else None,
        "time": now,
        "touched": now,
        "server": db.server_id,
    }
    if row is not None:
        note["row"] = list(row)
    # Durable at once, outside the request's transaction: a server killed during the write
    # rolls that back, and the note is all that tells of the write then.
    with db.at_once():
        db.keyed.put(key, note)
    try:
        yield
    finally:
        try:
            db.keyed.delete(key)
        except StorageError:
            # Left behind, the note is settled at the next start like an interrupted one.
            log.warning("could not clear the note of a %s of user=%s", op, note["user"])


def settle(db: Store, directories: Mapping[str, Directory]) -> int:
    """Record and audit the writes a stop cut short that the directory did; how many."""
    settled = 0
    for key, note in db.keyed.items(PREFIX):
        if db.is_running(str(note.get("server", ""))):
            continue  # another server sharing the store is doing it right now
        directory = directories.get(str(note.get("domain")))
        op = str(note.get("op"))
        if directory is None or op not in _OUTCOME:
            db.keyed.delete(key)
            continue
        try:
            user = directory.find_user(str(note.get("user")))
        except DirectoryError:
            log.warning("the directory of %s did not answer: an interrupted %s is checked at "
                        "the next start", directory.name, op)  # fmt: skip
            continue
        when = float(note.get("time", 0))
        if user is not None and _done(op, user, note.get("before")):
            row = note.get("row")
            if isinstance(row, list) and len(row) == 2:
                _record_row(db, directory.name, user.username, str(row[0]), str(row[1]), when)
            else:
                _record(db, directory.name, user.username, op, when)
            settled += 1
        db.keyed.delete(key)
    return settled


def _done(op: str, user: DirectoryUser, before: object) -> bool:
    if op == "unlock":
        return not user.locked
    # Set again since the note (a time comparison would also count an earlier change in
    # the same second, the directory's stamps being whole seconds on OpenLDAP). AD shows a
    # password set to be changed at next logon (pwdLastSet 0) as no stamp at all: after a
    # stamp, that is a new password too.
    return user.password_set != before


def _record(db: Store, domain: str, username: str, op: str, when: float) -> None:
    field, event = _OUTCOME[op]
    with db.users.locked(domain, username):
        record = db.users.get(domain, username)
        # Change records only enrolled users, as the flow does.
        recorded = record is not None and (op != "change" or record.enrollment is not None)
        if record is not None and recorded:
            stored = getattr(record, field) or 0.0
            if stored < when:
                setattr(record, field, when)
                db.users.save(record)
            else:
                # The flow saved its record after the note, then stopped before its audit
                # row: the row takes the record's time, or restore_missing_audit, which
                # looks for a row no older than the record, would restore it a second time.
                when = stored
    _record_row(db, domain, username, op, event, when)


def _record_row(
    db: Store, domain: str, username: str, source: str, event: str, when: float
) -> None:
    """The write's audit row, marked as restored, unless it was written before the kill."""
    mine = (e for e in db.audit.query(since=when) if (e.domain, e.user) == (domain, username))
    if _has_row(mine, frozenset({source}), frozenset({event}), when):
        return
    db.audit.append(AuditEvent("success", source, username, domain, event + RESTORED, time=when))
    log.warning(
        "audit: recorded a %s (%s) of user=%s domain=%s that the directory did just before an "
        "unclean stop",
        source,
        event,
        username,
        domain,
    )


# --- audit rows of saved records ---------------------------------------------------------------

# Flows in flight when the server stopped saved their records seconds before; a row is
# looked for only for records changed this long before the newest time stored.
MARGIN = 300.0


def restore_missing_audit(db: Store) -> list[AuditEvent]:
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
    return any(e.time >= done and _records(e, sources, events) for e in audited)


def _records(row: AuditEvent, sources: frozenset[str], events: frozenset[str]) -> bool:
    """Whether `row` is one a flow writes after setting the field of (sources, events)."""
    if row.source not in sources:
        return False
    text = row.event.removesuffix(RESTORED)
    if text in events:
        return True
    # An enroll session's factor actions (an app, codes, a passkey added or removed) move
    # `last_enroll` too (EnrollStep.save), and audit under their own words.
    return "enrolled" in events and row.source == "enroll" and text != SESSION_STARTED


def _newest_audit_time(db: Store) -> float:
    days = db.audit.days()
    if not days:
        return 0.0
    day = datetime.strptime(days[-1], "%Y-%m-%d").replace(tzinfo=UTC)
    return max((e.time for e in db.audit.query(since=day.timestamp())), default=0.0)
