"""`pwreset db copy`: the embedded store into PostgreSQL and back, everything and as stored
(sealed records still open with the data key), the destination cleared first so a second
run gives the same, the counts reported, and the database password never printed."""

from __future__ import annotations

import shlex
import subprocess
import sys
from dataclasses import astuple
from pathlib import Path

import pytest

from pwreset.server.storage import UserRecord
from pwreset.server.storage.postgres import PostgresStore

from support.console_instance import Instance

PASSWORD_ENV = "PWRESET_TEST_DB_PASSWORD"


@pytest.fixture
def on_postgres(instance: Instance, postgres_lab, pg_dsn, monkeypatch) -> Instance:
    """The instance with a [storage] table naming the lab database (backend still embedded)."""
    with instance.open() as db:
        db.keyed.put("u:alice", {"sent": [1.0], "touched": 1.0})
        db.keyed.put("pending\0LAB\0bob", {"op": "reset", "touched": 2.0})
        db.strikes.put("decoy", {"count": 2, "touched": 3.0})
    monkeypatch.setenv(PASSWORD_ENV, postgres_lab.password)
    with instance.config.open("a", encoding="utf-8") as config:
        config.write(f'\n[storage]\ndsn = "{pg_dsn}"\npassword_env = "{PASSWORD_ENV}"\n')
    return instance


def _everything(db) -> tuple:
    users = sorted((u.username, u.enrollment, u.last_enroll) for u in db.users)
    keyed = sorted(db.keyed.items(""))
    strikes = sorted(db.strikes.items(""))
    audit = sorted((e.time, astuple(e)) for e in db.audit.query())
    return users, keyed, strikes, audit


def test_copy_to_postgresql_and_back(
    on_postgres: Instance, postgres_lab, pg_dsn, capsys: pytest.CaptureFixture[str]
) -> None:
    with on_postgres.open() as db:
        original = _everything(db)
    for _ in range(2):  # again: the destination is cleared, nothing doubles
        assert on_postgres.run("db", "copy", "--from", "embedded", "--to", "postgresql") == 0
        out = capsys.readouterr()
        assert "5 users, 2 keyed, 1 strikes, 10 audit events; the counts match" in out.out
        assert out.out.count("\n") == 2 and out.err == ""  # no terminal: no progress bar
        assert postgres_lab.password not in out.out + out.err
    with PostgresStore.open(pg_dsn, password=postgres_lab.password, data_key=on_postgres.key) as pg:
        assert _everything(pg) == original
        pg.users.save(UserRecord("LAB", "zed"))  # made on PostgreSQL only
    with on_postgres.open() as db:
        db.users.save(UserRecord("LAB", "stale"))  # left in the embedded store only
    assert on_postgres.run("db", "copy", "--from", "postgresql", "--to", "embedded") == 0
    assert "6 users, 2 keyed, 1 strikes, 10 audit events" in capsys.readouterr().out
    with on_postgres.open() as db:
        users, *rest = _everything(db)
        assert [name for name, *_ in users] == sorted(["zed", *(u[0] for u in original[0])])
        assert rest == list(original[1:])
        assert db.users.get("LAB", "stale") is None


def test_copy_refuses_what_cannot_work(
    instance: Instance, capsys: pytest.CaptureFixture[str]
) -> None:
    assert instance.run("db", "copy", "--from", "embedded", "--to", "embedded") == 2
    assert "--from and --to are both embedded" in capsys.readouterr().err
    assert instance.run("db", "copy", "--from", "embedded", "--to", "postgresql") == 1
    assert "storage.dsn is not set" in capsys.readouterr().err
    with instance.open():  # a running server owns the folder
        assert instance.run("db", "copy", "--from", "postgresql", "--to", "embedded") == 1


def test_a_terminal_sees_the_progress(on_postgres: Instance) -> None:
    """On a terminal (here `script`'s pseudo-terminal) a progress bar per part; the same
    command without one printed only its result (above)."""
    pwreset = Path(sys.executable).with_name("pwreset")
    command = shlex.join([str(pwreset), "db", "copy", "--from", "embedded", "--to",
                          "postgresql", "-c", str(on_postgres.config)])  # fmt: skip
    report = on_postgres.root / "report.txt"
    command += f" >{shlex.quote(str(report))}"  # the report to a file, the terminal on stderr
    done = subprocess.run(
        ["script", "-qec", command, "/dev/null"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout
    assert "copying users" in done.stdout and "copying audit" in done.stdout
    assert "the counts match" in report.read_text() and "copying" not in report.read_text()


def test_a_copy_cut_short_leaves_postgresql_as_it_was(
    on_postgres: Instance, postgres_lab, pg_dsn, monkeypatch, capsys
) -> None:
    """Into PostgreSQL the copy is one transaction: the users are in, the audit log fails,
    and the database still holds the previous copy, whole."""
    from pwreset.server.storage import StorageError
    from pwreset.server.storage.transfer import EmbeddedContents

    assert on_postgres.run("db", "copy", "--from", "embedded", "--to", "postgresql") == 0
    with on_postgres.open() as db:
        db.users.save(UserRecord("LAB", "newcomer"))

    def broken(self):
        raise StorageError("the disk went away")
        yield

    monkeypatch.setattr(EmbeddedContents, "events", broken)
    assert on_postgres.run("db", "copy", "--from", "embedded", "--to", "postgresql") == 1
    assert "the disk went away" in capsys.readouterr().err
    with PostgresStore.open(pg_dsn, password=postgres_lab.password, data_key=on_postgres.key) as pg:
        assert len(pg.users) == 5 and pg.users.get("LAB", "newcomer") is None
        assert len(list(pg.audit.query())) == 10
