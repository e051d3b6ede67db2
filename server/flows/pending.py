"""Directory writes in progress, noted durably before the directory is asked.

A reset, unlock or change writes the directory first, then pwreset's record and audit row.
The directory and the store cannot commit together, so a server killed between the two
would leave a password changed or an account unlocked that pwreset never recorded (found by
the crash test, issue 9). The flow therefore notes the write before asking the directory
and clears the note once the outcome is stored and audited. A note found at start-up is a
write cut short: the directory says whether it happened (a password set since the note, an
account no longer locked), and if so it is recorded and audited then, marked as restored.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import Iterator, Mapping

from pwreset.server.directory.base import Directory, DirectoryError, DirectoryUser
from pwreset.server.flows.audit_restore import RESTORED
from pwreset.server.storage import AuditEvent, Database
from pwreset.server.storage.errors import StorageError

log = logging.getLogger("pwreset.server")

PREFIX = "pending\0"
# The record field and the audit event of each write.
_OUTCOME = {
    "reset": ("last_reset", "password reset"),
    "unlock": ("last_unlock", "account unlocked"),
    "change": ("last_change", "password changed"),
}


@contextlib.contextmanager
def noted(
    db: Database, op: str, domain: str, user: DirectoryUser | None, typed: str, now: float
) -> Iterator[None]:
    """Hold around the directory write and the storing of its outcome (or its refusal).
    `user` is the account as read just before the write: its password stamp then is what
    tells, after a kill, whether the write happened."""
    key = PREFIX + secrets.token_hex(12)
    note = {
        "op": op,
        "domain": domain,
        "user": user.username if user else typed,
        "before": user.password_set if user else None,
        "time": now,
        "touched": now,
    }
    db.keyed.put(key, note)
    try:
        yield
    finally:
        try:
            db.keyed.delete(key)
        except StorageError:
            # Left behind, the note is settled at the next start like an interrupted one.
            log.warning("could not clear the note of a %s of user=%s", op, note["user"])


def settle(db: Database, directories: Mapping[str, Directory]) -> int:
    """Record and audit the writes a stop cut short that the directory did; how many."""
    settled = 0
    for key, note in db.keyed.items(PREFIX):
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
            _record(db, directory.name, user.username, op, when)
            settled += 1
        db.keyed.delete(key)
    return settled


def _done(op: str, user: DirectoryUser, before: object) -> bool:
    if op == "unlock":
        return not user.locked
    # Set again since the note (a time comparison would also count an earlier change in
    # the same second, the directory's stamps being whole seconds on OpenLDAP).
    return user.password_set is not None and user.password_set != before


def _record(db: Database, domain: str, username: str, op: str, when: float) -> None:
    field, event = _OUTCOME[op]
    with db.users.locked(domain, username):
        record = db.users.get(domain, username)
        # Change records only enrolled users, as the flow does.
        recorded = record is not None and (op != "change" or record.enrollment is not None)
        if record is not None and recorded and (getattr(record, field) or 0.0) < when:
            setattr(record, field, when)
            db.users.save(record)
    db.audit.append(AuditEvent("success", op, username, domain, event + RESTORED, time=when))
    log.warning(
        "audit: recorded a %s of user=%s domain=%s that the directory did just before an "
        "unclean stop",
        op,
        username,
        domain,
    )
