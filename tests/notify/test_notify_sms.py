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

from pwreset.config.errors import ConfigError
from pwreset.config.flow_settings import VerificationSettings
from pwreset.config.loader import parse_config
from pwreset.config.notify_settings import CodeMail, EmailSettings
from pwreset.config.secrets import bind_password
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
    ("language", "text"),
    [
        ("fr-CA", f"Votre code de vérification\u00a0: {CODE}"),
        ("ar", f"رمز التحقق الخاص بك: {CODE}"),
        ("fi", f"Your verification code: {CODE}"),  # not shipped: English
    ],
)
def test_text_macro_is_the_stock_sms_in_the_users_language(
    language: str, text: str, tmp_path: Path
) -> None:
    """[TEXT] is the stock SMS text in the user's language, its [CODE] filled in, so one
    sms_command serves every language."""
    log = tmp_path / "calls.jsonl"
    command = [str(recorder(tmp_path)), str(log), "[PHONE]", "[TEXT]"]
    notifier(command).send_code_sms("+15550199", CODE, Recipient("jdoe", "EX", language=language))
    assert calls(log)[0]["argv"] == ["+15550199", text]


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


ENV_DUMPER = """#!{python}
# Writes the environment it was started with to the file named by argv[1].
import json, os, sys
open(sys.argv[1], "w").write(json.dumps(dict(os.environ)))
"""


def dumped_environment(tmp_path: Path, **verification: Any) -> dict[str, str]:
    """The environment the SMS program saw, with the server's config loaded from TOML (the
    bind password named by [[domains]] bind_password_env, as pwreset.config.secrets reads
    it) and the notifier built from it as the server builds it."""
    out = tmp_path / "env.json"
    program = script(tmp_path, "env.py", ENV_DUMPER.format(python=sys.executable))
    config = parse_config(
        {
            "domains": [
                {
                    "name": "EX",
                    "kind": "openldap",
                    "urls": ["ldaps://dc.example.org"],
                    "base_dn": "dc=example,dc=org",
                    "bind_dn": "cn=svc,dc=example,dc=org",
                    "bind_password_env": "PWRESET_TEST_BIND_PASSWORD",
                }
            ],
            "email": {
                "delivery": "smtp",
                "username": "relay",
                "password_env": "PWRESET_TEST_SMTP_PASSWORD",
            },
            "verification": {
                "enabled": True,
                "sms": True,
                "sms_command": [str(program), str(out)],
                **verification,
            },
        },
        tmp_path / "pwreset.toml",
    )
    assert bind_password(config, 0) == "bind-Secret-1"
    n = Notifier(
        email=config.email,
        code_mail=config.code_mail,
        alerts=config.alerts,
        verification=config.verification,
        resolve=config.path,
    )
    n.send_code_sms("+15550199", CODE, Recipient("jdoe", "EX"))
    env: dict[str, str] = json.loads(out.read_text())
    return env


@pytest.fixture
def server_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a server process holds: its secrets, and whatever else it was started with."""
    monkeypatch.setenv("PWRESET_TEST_BIND_PASSWORD", "bind-Secret-1")
    monkeypatch.setenv("PWRESET_TEST_SMTP_PASSWORD", "smtp-Secret-2")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "cloud-Secret-3")
    monkeypatch.setenv("LANG", "de_DE.UTF-8")
    monkeypatch.setenv("LC_TIME", "de_DE.UTF-8")
    monkeypatch.setenv("TZ", "Europe/Berlin")
    monkeypatch.setenv("SMS_GATEWAY_TOKEN", "token-for-the-gateway")


@pytest.mark.usefixtures("server_environment")
def test_the_program_starts_from_an_allowlisted_environment(tmp_path: Path) -> None:
    """security review, low: the SMS program inherited every variable but the SMTP
    password, the directory bind passwords included. It gets PATH, HOME, the locale and TZ
    (and TMPDIR, LANGUAGE), no secret of pwreset and nothing else."""
    env = dumped_environment(tmp_path)

    assert not any("Secret" in value for value in env.values())
    assert "SMS_GATEWAY_TOKEN" not in env
    assert set(env) <= {"PATH", "HOME", "LANG", "LANGUAGE", "TZ", "TMPDIR"} | {
        name for name in env if name.startswith("LC_")
    }
    assert env["PATH"] == os.environ["PATH"]
    assert (env["LANG"], env["LC_TIME"], env["TZ"]) == ("de_DE.UTF-8",) * 2 + ("Europe/Berlin",)


@pytest.mark.usefixtures("server_environment")
def test_sms_env_passes_more_names_but_never_a_secret(tmp_path: Path) -> None:
    """security review, low: `verification.sms_env` adds names the admin wants passed (a
    gateway token); naming pwreset's own secret variables there is a configuration error."""
    env = dumped_environment(tmp_path, sms_env=["SMS_GATEWAY_TOKEN", "NOT_SET_ANYWHERE"])

    assert env["SMS_GATEWAY_TOKEN"] == "token-for-the-gateway"
    assert "NOT_SET_ANYWHERE" not in env
    for secret in ("PWRESET_TEST_BIND_PASSWORD", "PWRESET_TEST_SMTP_PASSWORD"):
        with pytest.raises(ConfigError) as caught:
            dumped_environment(tmp_path, sms_env=[secret])
        assert f"verification.sms_env lists {secret}" in str(caught.value)
    with pytest.raises(ConfigError, match="not an environment variable name"):
        dumped_environment(tmp_path, sms_env=["A=B"])


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
