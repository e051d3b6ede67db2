"""The audit rows a start restores after an unclean stop (server/flows/pending.py): the row a
flow wrote after saving its record stands for that change, so a start neither makes a row
up nor writes one twice."""

from __future__ import annotations

from pathlib import Path

from pwreset.server.flows import pending
from pwreset.server.flows.factors import recovery_codes
from pwreset.server.flows.pending import RESTORED
from pwreset.server.storage import AuditEvent, Database, UserRecord

KEY = bytes(range(32))


def _stopped_after(tmp_path: Path, rows: list[tuple[str, float]]) -> Database:
    """A store as a server killed at 1000.5 left it: Ann's record saved at 1000.0 by an
    enroll session's action, and the enroll rows written before the kill."""
    db = Database.open(tmp_path / "data", data_key=KEY)
    with db.users.locked("LAB", "ann"):
        db.users.save(UserRecord(domain="LAB", username="ann", enrollment={"v": 1},
                                 last_enroll=1000.0))  # fmt: skip
    for event, time in rows:
        db.audit.append(AuditEvent("success", "enroll", "ann", "LAB", event, time=time))
    return db


def test_a_factor_actions_row_stands_for_the_enroll_time_it_set(tmp_path: Path) -> None:
    """Found by the review of issue 14's last changes: adding or removing an app, codes or a
    passkey moves `last_enroll`, and its row ("recovery codes removed") was not taken for
    it, so every start after a kill made up an "enrolled" row."""
    db = _stopped_after(
        tmp_path, [(pending.SESSION_STARTED, 999.0), (recovery_codes.REMOVED, 1000.1)]
    )
    try:
        assert pending.restore_missing_audit(db) == []
    finally:
        db.close()


def test_a_lost_row_is_restored_once(tmp_path: Path) -> None:
    # The session's opening row comes before the action: it does not stand for it.
    db = _stopped_after(tmp_path, [(pending.SESSION_STARTED, 999.0)])
    try:
        (restored,) = pending.restore_missing_audit(db)
        assert (restored.event, restored.time) == ("enrolled" + RESTORED, 1000.0)
        assert pending.restore_missing_audit(db) == []
    finally:
        db.close()
