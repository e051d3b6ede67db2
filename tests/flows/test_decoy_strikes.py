"""Decoys' wrong-answer counts in the store (security review 5b): keyed, bounded, and no
trouble for the database tools."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from pwreset.config.flow_settings import SecuritySettings
from pwreset.config.schema import DomainConfig
from pwreset.server.flows import lockout
from pwreset.server.flows.lockout import DecoyStrikes, Strikes, directory_name
from pwreset.server.storage import Database, UserRecord
from pwreset.server.storage.maintenance import backup

KEY = b"k" * 32


def _db(tmp_path: Path) -> Database:
    return Database.open(tmp_path / "data", data_key=KEY)


def test_names_are_kept_only_as_a_keyed_hash(tmp_path: Path) -> None:
    """security review 5b: the store does not list which names were tried"""
    db = _db(tmp_path)
    strikes = DecoyStrikes(db.strikes, KEY, SecuritySettings(), lambda: 1000.0)
    strikes.put("LAB", "Some.Body", Strikes(2, 999.0))
    assert strikes.get("lab", "some.body") == Strikes(2, 999.0)
    db.close()
    files = b"".join(p.read_bytes() for p in (tmp_path / "data").rglob("*") if p.is_file())
    assert b"some.body" not in files.lower()


def test_the_table_stays_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """security review 5b: a million tried names cannot fill the store: counts past the
    lockout box are swept, so the table holds one box of names; a count within its box is
    never dropped to make room (the next wrong answer would then tell a made-up name from a
    real user, whose count stays in their record: found by the session review of issue 14).
    Without a box (lockout_minutes = 0) the cap holds, the oldest going first."""
    monkeypatch.setattr(lockout, "MAX_DECOY_ENTRIES", 10)
    db = _db(tmp_path)
    now = [0.0]
    strikes = DecoyStrikes(db.strikes, KEY, SecuritySettings(), lambda: now[0])
    for i in range(25):
        now[0] = 100.0 + 61 * i  # a minute apart: each put may start a sweep
        strikes.put("LAB", f"name{i}", Strikes(1, now[0]))
        strikes.settle()
    # 25 minutes of names, all within the 30-minute box: every count is still there.
    assert len(strikes) == 25
    assert strikes.get("LAB", "name0").count == 1
    now[0] += 31 * 60
    assert strikes.sweep(now[0]) == 25
    assert len(strikes) == 0

    forever = DecoyStrikes(db.strikes, KEY, SecuritySettings(lockout_minutes=0), lambda: now[0])
    for i in range(25):
        now[0] += 1
        forever.put("LAB", f"kept{i}", Strikes(1, now[0]))
        forever.settle()
    assert len(forever) <= 10
    assert forever.get("LAB", "kept24").count == 1
    db.close()


def test_a_backup_counts_users_only(tmp_path: Path) -> None:
    """the backup's manifest and its check agree with decoy counts in the store"""
    db = _db(tmp_path)
    db.users.save(UserRecord(domain="LAB", username="jane"))
    DecoyStrikes(db.strikes, KEY, SecuritySettings(), lambda: 5.0).put("LAB", "x", Strikes(1, 5))
    db.close()
    report = backup(tmp_path / "data", tmp_path / "backup")
    assert report.users == 1


def test_decoys_go_by_the_name_the_directory_looks_up() -> None:
    """security review 5b, attacker pass: the spellings a directory takes for one account are
    one decoy; those it does not take are others, as they are for an existing account"""
    ad = DomainConfig(
        name="LAB",
        kind="ad",
        urls=["ldaps://dc"],
        base_dn="DC=lab,DC=example,DC=com",
        bind_dn="svc",
        bind_password_env="X",
    )
    spellings = ["bob", "LAB\\bob", "bob@LAB.example.com", " bob "]
    assert {directory_name(s, ad) for s in spellings} == {"bob"}
    assert directory_name("bob@elsewhere.example", ad) == "bob@elsewhere.example"
    ldap = ad.model_copy(update={"kind": "openldap", "base_dn": "dc=example,dc=org"})
    assert [directory_name(s, ldap) for s in spellings[:3]] == spellings[:3]
    custom = ad.model_copy(update={"user_filter": "(mail={username})"})
    assert directory_name("LAB\\bob", custom) == "LAB\\bob"


def test_a_full_table_is_swept_outside_the_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """security review 5b, attacker pass: once an attacker had filled the table, every new
    name's wrong answer read and sorted the whole table before it was answered (100,000
    entries), so a decoy's answer was slower than an enrolled user's. The sweep runs beside
    the request, and clears room for many new names at once."""
    monkeypatch.setattr(lockout, "MAX_DECOY_ENTRIES", 10)
    db = _db(tmp_path)
    # Without a lockout box, the one setting where a full table is cut to the cap.
    settings = SecuritySettings(lockout_minutes=0)
    strikes = DecoyStrikes(db.strikes, KEY, settings, lambda: 100.0)
    for i in range(10):
        strikes.put("LAB", f"name{i}", Strikes(1, 50.0 + i))
    strikes.settle()
    reading = threading.Event()
    release = threading.Event()
    sweep = strikes.sweep

    def slow_sweep(now: float) -> int:
        reading.set()
        release.wait(10)
        return sweep(now)

    monkeypatch.setattr(strikes, "sweep", slow_sweep)
    answered = threading.Event()
    request = threading.Thread(
        target=lambda: (strikes.put("LAB", "new", Strikes(1, 99.0)), answered.set())
    )
    request.start()
    assert reading.wait(5), "no sweep started"
    assert answered.wait(2), "the wrong answer waited for the sweep"
    release.set()
    request.join(5)
    strikes.settle()
    assert len(strikes) == 9  # MAX_DECOY_ENTRIES * 0.9: room for the next names
    assert strikes.get("LAB", "new").count == 1
    db.close()
