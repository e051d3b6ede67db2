"""Sending a code by SMS: running the admin's command with the macros filled in.

The command is an argv list run directly, never through a shell, so a value with spaces,
quotes, `;`, `$(...)` or backticks reaches the program as one literal argument. Stdin is
closed, output is discarded (it may echo the code), and the whole process group is killed
when it outlives the timeout, so a wrapper script cannot leave a child behind. It starts
from an allowlisted environment: the server's holds the directory bind passwords.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from .errors import NotifyError

log = logging.getLogger("pwreset.server.notify")

_MACRO = re.compile(r"\[(CODE|PHONE|USERNAME|DOMAIN|LANG|TEXT)\]")
# A phone number as a directory holds it: digits with the usual separators. Anything else
# (notably a leading "-", which a program would read as an option) is refused.
_PHONE = re.compile(r"^\+?[0-9(][0-9 ()./-]{2,31}$")

# What the program inherits from the server's environment, by default: enough to find and
# run a program and format text. Everything else (bind passwords, the SMTP password, any
# other secret the service was started with) stays out unless `verification.sms_env` names it.
BASE_ENV = frozenset({"PATH", "HOME", "LANG", "LANGUAGE", "TZ", "TMPDIR"})
LOCALE_PREFIX = "LC_"


def sms_environment(
    extra: Sequence[str] = (),
    hidden: Sequence[str] = (),
    environ: Mapping[str, str] = os.environ,
) -> dict[str, str]:
    """The environment of the SMS program: BASE_ENV, the locale (`LC_*`) and the names in
    `extra`, never those in `hidden` (pwreset's own secrets, even when listed in `extra`)."""
    wanted = BASE_ENV | set(extra)
    return {
        key: value
        for key, value in environ.items()
        if (key in wanted or key.startswith(LOCALE_PREFIX)) and key not in hidden
    }


def valid_phone(phone: str) -> bool:
    return bool(_PHONE.match(phone.strip())) and sum(ch.isdigit() for ch in phone) >= 3


def build_argv(template: Sequence[str], values: Mapping[str, str]) -> list[str]:
    """Fill [CODE] [PHONE] [USERNAME] [DOMAIN] [LANG] [TEXT] inside each argument, in one pass
    (a value that looks like a macro is not expanded again)."""
    return [_MACRO.sub(lambda m: values.get(m.group(1), m.group(0)), arg) for arg in template]


def run_sms_command(
    template: Sequence[str],
    values: Mapping[str, str],
    *,
    timeout: float,
    resolve: Callable[[Path], Path] = lambda p: p,
    pass_env: Sequence[str] = (),
    hidden_env: Sequence[str] = (),
) -> None:
    """Run the SMS command once; return if it exited 0, else raise NotifyError.

    A program given as a relative path with a directory part (``scripts/sms.sh``) is taken
    relative to the instance folder via `resolve`; a bare name is looked up on PATH.
    The program's environment is `sms_environment(pass_env, hidden_env)`.
    """
    if not template:
        raise NotifyError("verification.sms_command is empty", code="notify_config")
    program = template[0]
    argv = build_argv(template, values)
    if "/" in program and not Path(program).is_absolute():
        argv[0] = str(resolve(Path(argv[0])))
    env = sms_environment(pass_env, hidden_env)
    # Errors name the program as configured (argv[0] of the template): the filled-in
    # arguments may hold the code.
    try:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            close_fds=True,
            start_new_session=True,  # its own process group, killed as a whole on timeout
        )
    except FileNotFoundError as exc:
        raise NotifyError(f"SMS command {program} not found", code="notify_sms_missing") from exc
    except OSError as exc:
        raise NotifyError(
            f"SMS command {program} cannot run: {exc.strerror or exc.__class__.__name__}",
            code="notify_sms_missing",
        ) from exc
    try:
        status = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        _kill_group(process)
        raise NotifyError(
            f"SMS command {program} did not finish within {timeout:g} s and was stopped",
            code="notify_sms_timeout",
        ) from exc
    if status != 0:
        how = f"was killed by signal {-status}" if status < 0 else f"exited with status {status}"
        raise NotifyError(f"SMS command {program} {how}", code="notify_sms_failed")


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()
    process.wait()
