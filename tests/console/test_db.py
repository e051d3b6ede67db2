"""`pwreset db check|backup|restore|compact|move|rotate-key` against real data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pwreset.protocol.keys import read_secret_key
from pwreset.server.storage import Database, RotationPendingError, StorageError, UserRecord
from pwreset.server.storage.maintenance import rotate_key
from pwreset.server.storage.record_cipher import data_key_id

from support.console_instance import Instance


def test_check_opens_every_record(instance: Instance, capsys: pytest.CaptureFixture[str]) -> None:
    assert instance.run("db", "check") == 0
    out = capsys.readouterr().out
    assert f"{instance.data_dir}: 5 users, 10 audit events" in out
    assert f"5 records sealed with data key {data_key_id(instance.key)} (the configured" in out
    assert out.endswith("ok\n")


def test_check_names_a_damaged_file(instance: Instance, capsys: pytest.CaptureFixture[str]) -> None:
    (journal,) = (instance.data_dir / "users").glob("journal.*")
    data = bytearray(journal.read_bytes())
    data[60] ^= 0xFF  # inside the first user record, valid records after it
    journal.write_bytes(bytes(data))
    assert instance.run("db", "check") == 1
    out = capsys.readouterr().out
    assert f"PROBLEM: {journal}: at byte offset " in out and "valid records after it" in out


def test_backup_while_the_server_runs_then_restore(
    instance: Instance, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "backup-1"
    with instance.open() as db:  # the server owns the data meanwhile
        assert instance.run("db", "backup", str(target)) == 0
        db.users.save(UserRecord("LAB", "late"))
    assert f"{target}: 5 users and 10 audit events, verified" in capsys.readouterr().out
    manifest = json.loads((target / "backup.json").read_text())
    assert manifest["users"] == 5 and manifest["key_ids"] == [data_key_id(instance.key)]
    assert instance.run("db", "backup", str(target)) == 1  # never over an existing backup
    assert "already exists" in capsys.readouterr().err

    with instance.open():
        assert instance.run("db", "restore", str(target)) == 1
        assert "in use by process" in capsys.readouterr().err
    assert instance.run("db", "restore", str(target)) == 0
    out = capsys.readouterr().out
    assert "restored from" in out and "The data it replaced is in" in out
    with instance.open() as db:
        assert len(db.users) == 5 and db.users.get("LAB", "late") is None
        record = db.users.get("lab", "alice")
        assert record is not None and record.enrollment is not None


def test_restore_refuses_what_is_not_a_backup(
    instance: Instance, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert instance.run("db", "restore", str(tmp_path)) == 1
    assert (
        capsys.readouterr().err == f"pwreset: {tmp_path}: not a pwreset backup (no backup.json)\n"
    )


def test_compact_and_move(
    instance: Instance, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert instance.run("db", "compact") == 0
    assert sorted(p.name for p in (instance.data_dir / "users").iterdir()) == [
        "journal.00000001",
        "snapshot.00000001",
    ]
    capsys.readouterr()
    new_dir = tmp_path / "moved"
    assert instance.run("db", "move", str(new_dir)) == 0
    assert "Now set server.data_dir" in capsys.readouterr().out
    with pytest.raises(StorageError, match="was moved to"):
        Database.open(instance.data_dir, data_key=instance.key)
    with Database.open(new_dir, data_key=instance.key) as db:
        assert len(db.users) == 5 and len(list(db.audit.query())) == 10


def test_rotate_key_reseals_everything(
    instance: Instance, capsys: pytest.CaptureFixture[str]
) -> None:
    old_id = data_key_id(instance.key)
    assert instance.run("db", "rotate-key") == 0
    out = capsys.readouterr().out
    assert "5 records sealed again" in out
    new_key = read_secret_key(instance.root / "keys/data.key")
    assert data_key_id(new_key) != old_id
    assert (instance.root / f"keys/data.key.old-{old_id}").exists()
    with Database.open(instance.data_dir, data_key=new_key) as db:
        record = db.users.get("LAB", "alice")
        assert record is not None and record.enrollment == {
            "questions": ["q1", "q2"],
            "answers": ["h1", "h2"],
        }
    assert instance.run("db", "check") == 0
    assert f"5 records sealed with data key {data_key_id(new_key)}" in capsys.readouterr().out


def test_an_interrupted_rotation_blocks_the_server_and_resumes(
    instance: Instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pwreset.server.storage import users as users_module

    calls = {"n": 0}
    real_reseal = users_module.UserStore.reseal

    def crash_after_two(self: users_module.UserStore, record: UserRecord) -> bool:
        calls["n"] += 1
        if calls["n"] > 2:
            raise KeyboardInterrupt  # stands in for the process dying mid-rotation
        return real_reseal(self, record)

    monkeypatch.setattr(users_module.UserStore, "reseal", crash_after_two)
    key_file = instance.root / "keys/data.key"
    with pytest.raises(KeyboardInterrupt):
        rotate_key(instance.data_dir, key_file)
    with pytest.raises(RotationPendingError, match="run `pwreset db rotate-key` again"):
        Database.open(instance.data_dir, data_key=instance.key)
    monkeypatch.setattr(users_module.UserStore, "reseal", real_reseal)
    report = rotate_key(instance.data_dir, key_file)
    assert report.resealed == 3
    new_key = read_secret_key(key_file)
    with Database.open(instance.data_dir, data_key=new_key) as db:
        assert all(r.enrollment is not None for r in db.users)
