"""The SMS command: a real program records the argv it was given."""

from __future__ import annotations

import json
import os
import stat
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from pwreset.config.flow_settings import VerificationSettings
from pwreset.config.notify_settings import CodeMail, EmailSettings
from pwreset.server.notify import Notifier, NotifyError, Recipient

CODE = "482915"

RECORDER = """#!{python}
# Appends its arguments and what it read on stdin to the file named by argv[1].
import json, sys
stdin = sys.stdin.read() if sys.stdin is not None else None
with open(sys.argv[1], "a", encoding="utf-8") as log:
    log.write(json.dumps({{"argv": sys.argv[2:], "stdin": stdin}}) + "\\n")
print("sent " + " ".join(sys.argv[2:]))  # like a chatty SMS tool; must not reach a log
sys.exit({status})
"""

SLEEPER = """#!/bin/sh
# Starts a child that would outlive it, records the child's pid, and waits.
sleep 30 &
echo $! > "$1"
wait
"""


def script(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def recorder(folder: Path, status: int = 0) -> Path:
    return script(
        folder, f"record-{status}.py", RECORDER.format(python=sys.executable, status=status)
    )


def calls(log: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def notifier(command: list[str], timeout: float = 10.0, **email: Any) -> Notifier:
    return Notifier(
        email=EmailSettings(**email),
        code_mail=CodeMail(),
        alerts={},
        verification=VerificationSettings(
            enabled=True, sms=True, sms_command=command, sms_timeout=timeout
        ),
    )


def test_macros_substituted_in_argv(tmp_path: Path) -> None:
    """apr checklist 92: [CODE] [PHONE] [USERNAME] [DOMAIN] [LANG] are replaced inside each
    argument; stdin is closed (empty)."""
    log = tmp_path / "calls.jsonl"
    command = [
        str(recorder(tmp_path)),
        str(log),
        "--to=[PHONE]",
        "Your code is [CODE] ([LANG])",
        "[DOMAIN]\\[USERNAME]",
        "[UNKNOWN] stays",
    ]
    to = Recipient("jdoe", "EXAMPLE", language="de")
    notifier(command).send_code_sms("+15550199", CODE, to)
    assert calls(log) == [
        {
            "argv": [
                "--to=+15550199",
                f"Your code is {CODE} (de)",
                "EXAMPLE\\jdoe",
                "[UNKNOWN] stays",
            ],
            "stdin": "",
        }
    ]


@pytest.mark.parametrize(
    "username",
    [
        "jane doe",
        'o\'brien "quoted"',
        "x; touch INJECTED",
        "$(touch INJECTED)",
        "`touch INJECTED`",
        "a && touch INJECTED | cat > INJECTED",
    ],
)
def test_no_shell_values_passed_literally(
    username: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """apr checklist 92: values with spaces, quotes, ';', $(...) and backticks arrive as one
    literal argument each: no shell ever sees them."""
    log = tmp_path / "calls.jsonl"
    monkeypatch.chdir(tmp_path)  # where an injected `touch INJECTED` would leave its file
    command = [str(recorder(tmp_path)), str(log), "[USERNAME]", "[CODE] for [USERNAME]"]
    notifier(command).send_code_sms("+15550199", CODE, Recipient(username, "EXAMPLE"))
    assert calls(log)[0]["argv"] == [username, f"{CODE} for {username}"]
    assert not (tmp_path / "INJECTED").exists()


def test_relative_program_resolved_against_instance(tmp_path: Path) -> None:
    """apr checklist 92: "scripts/sms.py" is found in the instance folder."""
    (tmp_path / "scripts").mkdir()
    program = recorder(tmp_path / "scripts")
    log = tmp_path / "calls.jsonl"
    n = Notifier(
        email=EmailSettings(),
        code_mail=CodeMail(),
        alerts={},
        verification=VerificationSettings(
            enabled=True, sms=True, sms_command=[f"scripts/{program.name}", str(log), "[PHONE]"]
        ),
        resolve=lambda p: tmp_path / p,
    )
    n.send_code_sms("+15550199", CODE, Recipient("jdoe", "EX"))
    assert calls(log)[0]["argv"] == ["+15550199"]


def test_smtp_password_not_inherited(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """apr checklist 92: the SMS program does not inherit the SMTP password variable."""
    monkeypatch.setenv("PWRESET_TEST_SMTP_PASSWORD", "hunter2")
    monkeypatch.setenv("PWRESET_TEST_OTHER", "kept")
    out = tmp_path / "env.json"
    program = script(
        tmp_path,
        "env.py",
        f"#!{sys.executable}\nimport json, os, sys\n"
        "open(sys.argv[1], 'w').write(json.dumps(dict(os.environ)))\n",
    )
    n = notifier(
        [str(program), str(out)],
        delivery="smtp",
        username="relay",
        password_env="PWRESET_TEST_SMTP_PASSWORD",
    )
    n.send_code_sms("+15550199", CODE, Recipient("jdoe", "EX"))
    env = json.loads(out.read_text())
    assert "PWRESET_TEST_SMTP_PASSWORD" not in env
    assert env["PWRESET_TEST_OTHER"] == "kept"


def test_non_zero_exit_is_not_sent(tmp_path: Path) -> None:
    """apr checklist 93: a non-zero exit means the code could not be sent."""
    log = tmp_path / "calls.jsonl"
    command = [str(recorder(tmp_path, status=3)), str(log), "[CODE]"]
    with pytest.raises(NotifyError, match="exited with status 3") as caught:
        notifier(command).send_code_sms("+15550199", CODE, Recipient("jdoe", "EX"))
    assert caught.value.code == "notify_sms_failed"
    assert CODE not in str(caught.value)
    assert len(calls(log)) == 1  # it did run


def test_timeout_stops_the_whole_process_group(tmp_path: Path) -> None:
    """apr checklist 93: a command that outlives verification.sms_timeout is stopped, with
    the children it started, and counts as not sent."""
    pid_file = tmp_path / "child.pid"
    command = [str(script(tmp_path, "slow.sh", SLEEPER)), str(pid_file)]
    started = time.monotonic()
    with pytest.raises(NotifyError, match=r"did not finish within 0\.5 s") as caught:
        notifier(command, timeout=0.5).send_code_sms("+15550199", CODE, Recipient("j", "EX"))
    assert time.monotonic() - started < 5
    assert caught.value.code == "notify_sms_timeout"
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it has been killed, only not reaped by init yet.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("program", ["/nonexistent/send-sms", "pwreset-no-such-sms-tool"])
def test_missing_program(program: str) -> None:
    """apr checklist 93: a program that does not exist counts as not sent."""
    with pytest.raises(NotifyError, match="not found") as caught:
        notifier([program, "[CODE]"]).send_code_sms("+15550199", CODE, Recipient("j", "EX"))
    assert caught.value.code == "notify_sms_missing"


def test_program_not_executable(tmp_path: Path) -> None:
    """apr checklist 93: a program that cannot be executed counts as not sent."""
    program = tmp_path / "plain.txt"
    program.write_text("not a program")
    with pytest.raises(NotifyError, match="cannot run"):
        notifier([str(program)]).send_code_sms("+15550199", CODE, Recipient("j", "EX"))


@pytest.mark.parametrize("phone", ["", "--config=/etc/passwd", "+1555; rm -rf /", "12"])
def test_invalid_phone_not_passed_to_the_program(phone: str, tmp_path: Path) -> None:
    """apr checklist 92: a phone value that is not a number (an option-like "-..." above
    all) never reaches the program."""
    log = tmp_path / "calls.jsonl"
    with pytest.raises(NotifyError, match="not a valid number"):
        notifier([str(recorder(tmp_path)), str(log), "[PHONE]"]).send_code_sms(
            phone, CODE, Recipient("j", "EX")
        )
    assert not log.exists()
