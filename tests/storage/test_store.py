"""The store interface, on both stores (`stores`): users by (domain, user), sealed
enrollments, the user's lock, keyed records and strikes, the audit log and its retention."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from storage_support import KEY, SECRET_HASH, enrolled

from pwreset.server.storage import AuditEvent, StoreKeyError, UserRecord


def test_users_by_domain_and_name_case_insensitive(stores) -> None:
    with stores(data_key=KEY) as db:
        db.users.save(enrolled("JSmith"))
        db.users.save(UserRecord("OTHER", "jsmith"))
        record = db.users.get("lab", "JSMITH")
        assert record is not None and record.username == "JSmith"
        assert record.enrollment == {"questions": ["pet?"], "answers": [SECRET_HASH]}
        record.wrong_answers = 2
        record.phone, record.copied_contacts = "+15550199", ("phone",)  # enroll's copy
        db.users.save(record)
        assert len(db.users) == 2
    with stores(data_key=KEY) as db:
        again = db.users.get("LAB", "jsmith")
        assert again is not None and again.wrong_answers == 2
        assert (again.phone, again.copied_contacts) == ("+15550199", ("phone",))
        assert again.code == {"hash": "code-hash-123", "issued_at": 1.0}
        assert db.users.delete("Lab", "JSmith") is True
        assert db.users.delete("Lab", "JSmith") is False
        assert [r.domain for r in db.users] == ["OTHER"]


def test_a_lifted_lockout_stays_lifted_and_rows_need_no_key(stores) -> None:
    with stores(data_key=KEY) as db:
        db.users.save(UserRecord("LAB", "carol", locked_out=True, wrong_answers=5))
        carol = db.users.get("lab", "CAROL")
        assert carol is not None and carol.locked_out
        carol.locked_out = False
        carol.wrong_answers = 0
        db.users.save(carol)
        db.users.save(enrolled("dave"))
    with stores(data_key=None) as db:
        rows = {row["username"]: row for row in db.users.rows()}
        assert not rows["carol"]["locked_out"] and rows["carol"]["wrong_answers"] == 0
        assert rows["dave"]["enrolled"] and rows["dave"]["key_id"]
        with pytest.raises(StoreKeyError, match="needs the data key"):
            db.users.get("LAB", "dave")


def test_a_wrong_key_does_not_open_and_a_rotation_reseals(stores) -> None:
    with stores(data_key=KEY) as db:
        db.users.save(enrolled("a"))
    new_key = b"\x03" * 32
    with stores(data_key=new_key) as db, pytest.raises(StoreKeyError, match="not the configured"):
        db.users.get("LAB", "a")
    with stores(data_key=new_key, previous_keys=[KEY]) as db:
        record = db.users.get("LAB", "a")
        assert record is not None and db.users.reseal(record) is True
        assert db.users.reseal(record) is False
    with stores(data_key=new_key) as db:
        again = db.users.get("LAB", "a")
        assert again is not None and again.enrollment == record.enrollment


def test_threads_saving_at_once(stores) -> None:
    with stores(data_key=KEY) as db:

        def work(t: int) -> None:
            for i in range(30):
                db.users.save(enrolled(f"u{t}-{i}"))

        threads = [threading.Thread(target=work, args=(t,)) for t in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    with stores(data_key=KEY) as db:
        assert len(db.users) == 180
        assert db.users.get("lab", "u5-29") is not None


def test_parallel_wrong_answers_under_the_lock_are_each_counted(stores) -> None:
    """Read, decide and save under `locked`, from many threads at once: none is lost."""
    with stores(data_key=KEY) as db:
        db.users.save(enrolled("target"))

        def fail(times: int) -> None:
            for _ in range(times):
                with db.users.locked("LAB", "target"):
                    record = db.users.get("lab", "TARGET")
                    assert record is not None
                    record.wrong_answers += 1
                    db.users.save(record)

        threads = [threading.Thread(target=fail, args=(15,)) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        final = db.users.get("LAB", "target")
        assert final is not None and final.wrong_answers == 90


def test_a_sweep_deletes_only_what_is_still_untouched(stores) -> None:
    """The decoy sweeps' last look (server/flows/codes.py, lockout.py): of the keys a sweep
    chose, only those whose time is still before the cut go, judged in one step with the
    writes, so a record used since the sweep read the table stays."""
    with stores(data_key=KEY) as db:
        db.keyed.put("u:old", {"code": {}, "touched": 10.0})
        db.keyed.put("u:used", {"code": {}, "touched": 10.0})
        db.keyed.put("u:odd", {"touched": "not a time"})
        db.strikes.put("s:old", {"n": 1, "t": 10.0})
        db.strikes.put("s:new", {"n": 1, "t": 500.0})
        # Used after the sweep chose it, before its last look.
        db.keyed.put("u:used", {"code": {}, "touched": 900.0})
        chosen = ["u:old", "u:used", "u:odd", "u:gone"]
        assert db.keyed.delete_untouched(chosen, 100.0) == 2
        assert db.keyed.get("u:used") is not None and db.keyed.get("u:old") is None
        assert db.strikes.delete_untouched(["s:old", "s:new"], 100.0, field="t") == 1
        assert db.strikes.get("s:new") == {"n": 1, "t": 500.0}


def test_keyed_records_and_strikes_are_apart_and_stale_ones_expire(stores) -> None:
    """security review 9: the counts hold across restarts; the housekeeping removes what
    has not been touched for a while"""
    with stores(data_key=KEY) as db:
        db.keyed.put("u:fresh", {"sent": [1000.0], "touched": 1000.0})
        db.keyed.put("d:stale", {"sent": [10.0], "touched": 10.0})
        db.keyed.put("u:odd", {"touched": "not a time"})
        db.keyed.put("pending\0LAB\0bob", {"op": "reset", "touched": 1000.0})
        db.strikes.put("u:fresh", {"count": 3, "touched": 1000.0})
    with stores(data_key=KEY) as db:
        assert db.keyed.get("u:fresh") == {"sent": [1000.0], "touched": 1000.0}
        assert db.strikes.get("u:fresh") == {"count": 3, "touched": 1000.0}
        assert len(db.users) == 0 and len(db.keyed) == 4 and len(db.strikes) == 1
        assert db.keyed.items("pending\0") == [
            ("pending\0LAB\0bob", {"op": "reset", "touched": 1000.0})
        ]
        assert db.keyed.expire(untouched_since=500.0) == 2
        assert db.keyed.get("d:stale") is None and db.keyed.get("u:odd") is None
        assert db.keyed.delete_many(["u:fresh", "nothing"]) == 1
        assert db.keyed.delete("pending\0LAB\0bob") is True
    with stores(data_key=KEY) as db:
        assert len(db.keyed) == 0 and len(db.strikes) == 1


def _at(day: str, hour: int = 12) -> float:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00").replace(tzinfo=UTC).timestamp()


def test_audit_is_kept_by_day_and_queried_by_range(stores) -> None:
    with stores(data_key=KEY) as db:
        for day in ("2024-03-01", "2024-03-02", "2024-03-03"):
            db.audit.append(AuditEvent("success", "reset", "jsmith", "LAB", "reset", time=_at(day)))
        db.audit.append(
            AuditEvent(
                "failure", "reset", "jsmith", "LAB", "wrong answer", "192.0.2.1", "web",
                time=_at("2024-03-02", 18),
            )
        )  # fmt: skip
    with stores(data_key=KEY) as db:
        assert db.audit.days() == ["2024-03-01", "2024-03-02", "2024-03-03"]
        events = list(db.audit.query(since=_at("2024-03-02", 0), until=_at("2024-03-03", 0)))
        assert [(e.type, e.event, e.ip) for e in events] == [
            ("success", "reset", ""),
            ("failure", "wrong answer", "192.0.2.1"),
        ]


def test_audit_retention_removes_whole_old_days(stores) -> None:
    with stores(data_key=KEY) as db:
        for day in ("2024-02-01", "2024-03-01", "2024-03-09"):
            db.audit.append(AuditEvent("success", "enroll", "u", "LAB", "enrolled", time=_at(day)))
    # Opening with a retention applies it; the cut is a whole UTC day, 30 days back.
    now = datetime.now(UTC).timestamp()
    days_back = int((now - _at("2024-03-01", 0)) // 86400)
    with stores(data_key=KEY, audit_retention_days=days_back) as db:
        assert db.audit.days() == ["2024-03-01", "2024-03-09"]
        assert len(list(db.audit.query())) == 2
