"""`pwreset users list|show|export|delete|purge` against real data."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import pytest

from pwreset.server.storage import Database, UserRecord
from pwreset.server.storage.purge import purge_missing

from support.console_instance import Instance

BASE = time.time()


def _names(out: str) -> list[str]:
    lines = out.splitlines()[2:-1]  # header, rule ... status line
    return [line.split()[0] for line in lines]


def test_list_filters_with_wildcards_anded(
    instance: Instance, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        instance.run("users", "list", "--user", "al*", "--domain", "lab", "--sort", "username") == 0
    )
    out = capsys.readouterr().out
    assert _names(out) == ["albert", "alice"]
    assert out.splitlines()[-1] == "2 shown, 2 matching, 5 users in all"
    assert instance.run("users", "list", "--user", "b?b") == 0
    assert _names(capsys.readouterr().out) == ["bob"]
    assert instance.run("users", "list", "--where", "email=", "--sort=-username") == 0
    assert _names(capsys.readouterr().out) == ["bob"]


def test_list_date_ranges_and_sorting(
    instance: Instance, capsys: pytest.CaptureFixture[str]
) -> None:
    assert instance.run("users", "list", "--date", "today", "--sort", "username") == 0
    assert _names(capsys.readouterr().out) == ["carol"]
    assert instance.run("users", "list", "--date", "last7", "--sort=-last_enroll") == 0
    assert _names(capsys.readouterr().out) == ["carol", "bob", "=cmd", "albert"]
    assert instance.run("users", "list", "--date", "yesterday", "--date-column", "last_reset") == 0
    assert _names(capsys.readouterr().out) == ["bob"]
    assert (
        instance.run("users", "list", "--where", "enrolled=yes", "--columns", "username,locked_out")
        == 0
    )
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["User", "Locked", "Out"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--where", "colour=red"], "--where: unknown column 'colour'; the columns are: username,"),
        (["--where", "nonsense"], "--where: 'nonsense' is not COLUMN=PATTERN"),
        (["--date", "tomorow"], "--date: 'tomorow' is not today, yesterday, last7, YYYY-MM-DD"),
        (["--date", "2024-03-05..2024-03-01"], "--date: '2024-03-05..2024-03-01' ends before it"),
        (["--from", "03/01/2024"], "--from: '03/01/2024' is not YYYY-MM-DD or YYYY-MM-DDTHH:MM"),
        (["--sort", "height"], "--sort: unknown column 'height'"),
        (["--date-column", "email", "--date", "today"], "--date: column 'email' is not a date"),
        (["--columns", "username,shoe"], "--columns: unknown column 'shoe'"),
    ],
)
def test_bad_filters_get_clear_errors(
    instance: Instance, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert instance.run("users", "list", *argv) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"pwreset: {message}")
    assert captured.out == ""


def test_bad_data_dir_is_named(
    instance: Instance, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    text = instance.config.read_text().replace('data_dir = "data"', 'data_dir = "nowhere"')
    instance.config.write_text(text)
    assert instance.run("users", "list") == 1
    assert (
        capsys.readouterr().err
        == f"pwreset: {instance.root / 'nowhere'}: no data directory there\n"
    )


def test_show_prints_the_record_and_its_audit_history(
    instance: Instance, capsys: pytest.CaptureFixture[str]
) -> None:
    assert instance.run("users", "show", "LAB\\Alice") == 0
    out = capsys.readouterr().out
    assert "E-mail:         alice@lab.example" in out
    assert "Enrolled:       yes" in out
    assert "incorrect answer" in out and "password reset" in out
    assert "h1" not in out  # never the hashes
    assert instance.run("users", "show", "nobody") == 1
    assert capsys.readouterr().err == "pwreset: no enrolled user 'nobody'\n"


def test_delete_keeps_the_audit_history_and_audits_itself(
    instance: Instance, capsys: pytest.CaptureFixture[str]
) -> None:
    assert instance.run("users", "delete", "--user", "alice", "--yes") == 0
    assert capsys.readouterr().out.endswith("1 users deleted\n")
    with Database.open_readonly(instance.data_dir) as db:
        assert db.users.get("LAB", "alice") is None
        assert len(db.users) == 4
        events = [e for e in db.audit.query() if e.user == "alice"]
    assert [e.source for e in events] == ["enroll", "reset", "reset", "admin"]
    assert events[-1].web_user.startswith("console:")
    assert instance.run("users", "delete") == 2  # no filter: refuses to delete everyone


def test_delete_refuses_while_the_server_owns_the_data(
    instance: Instance, capsys: pytest.CaptureFixture[str]
) -> None:
    with instance.open():
        assert instance.run("users", "delete", "--user", "bob", "--yes") == 1
        err = capsys.readouterr().err
        assert "the data directory is in use by process" in err and "stop it first" in err
        # Reading works beside the owner.
        assert instance.run("users", "list", "--user", "bob") == 0
        assert _names(capsys.readouterr().out) == ["bob"]


def test_purge_marks_then_removes_after_the_grace_period(instance: Instance) -> None:
    gone = {("LAB", "bob")}
    with instance.open() as db:
        first = purge_missing(db.users, db.audit, lambda d, u: (d, u) not in gone, now=BASE)
        assert first.marked == [("LAB", "bob")] and first.removed == []
        early = purge_missing(
            db.users, db.audit, lambda d, u: (d, u) not in gone, now=BASE + 6 * 86400
        )
        assert early.removed == []
        late = purge_missing(
            db.users, db.audit, lambda d, u: (d, u) not in gone, now=BASE + 7 * 86400
        )
        assert late.removed == [("LAB", "bob")]
        assert db.users.get("LAB", "bob") is None
        assert [e.source for e in db.audit.query() if e.user == "bob"][-1] == "admin"


def test_purge_unmarks_users_found_again_and_stops_when_unsure(instance: Instance) -> None:
    with instance.open() as db:
        purge_missing(db.users, db.audit, lambda d, u: u != "carol", now=BASE)
        again = purge_missing(db.users, db.audit, lambda d, u: True, now=BASE + 8 * 86400)
        assert again.unmarked == [("CORP", "carol")] and again.removed == []

        def unreachable(domain: str, user: str) -> bool:
            raise OSError("directory down")

        with pytest.raises(OSError):
            purge_missing(db.users, db.audit, unreachable, now=BASE + 30 * 86400)
        assert len(db.users) == 5


def test_purge_command_without_configured_domains_keeps_everyone(
    instance: Instance, capsys: pytest.CaptureFixture[str]
) -> None:
    assert instance.run("users", "purge") == 0
    assert "5 in domains no longer configured" in capsys.readouterr().out


def test_pwreset_lockout_is_shown_with_its_end(
    instance: Instance, capsys: pytest.CaptureFixture[str]
) -> None:
    """apr checklist 60: pwreset's own lockout, which Unlock does not lift, is shown with
    when it ends: `lockout_minutes` after the last wrong answer, or at re-enrolment when
    the lockout does not run out; one that has run out is not shown as a lockout although
    the record still says `locked_out`"""
    now = time.time()
    with instance.open() as db:
        for name, failed in (("mallory", now - 60), ("trent", now - 7200)):
            db.users.save(UserRecord("LAB", name, enrollment={"questions": []}, wrong_answers=5,
                                     last_failure=failed, locked_out=True))  # fmt: skip
    listing = ["users", "list", "--where", "locked_out=yes", "--columns", "username,locked_until"]
    assert instance.run(*listing) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["User", "Locked", "Until"]
    end = datetime.fromtimestamp(now - 60 + 30 * 60).strftime("%Y-%m-%d %H:%M:%S")
    assert lines[2].split(maxsplit=1) == ["mallory", end]
    assert lines[-1] == "1 shown, 1 matching, 7 users in all"
    assert instance.run("users", "show", "LAB\\trent") == 0
    assert "Locked Until:   \n" in capsys.readouterr().out

    text = instance.config.read_text().replace("lockout_minutes = 30", "lockout_minutes = 0")
    instance.config.write_text(text)
    assert instance.run("users", "show", "LAB\\trent") == 0
    out = capsys.readouterr().out
    assert "Locked Until:   re-enrolment\n" in out and "Locked Out:     yes\n" in out
    assert instance.run("users", "show", "LAB\\alice") == 0
    assert "Locked Until:   \n" in capsys.readouterr().out
