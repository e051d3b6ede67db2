"""Run a lab daemon as our own detached child and stop it again, always by its PID."""

from __future__ import annotations

import contextlib
import os
import pwd
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from pwreset_lab.errors import LabError

# Popen objects of the daemons this process started. Keeping them referenced stops Python
# warning "subprocess N is still running" when one is garbage collected while it runs.
_children: dict[int, subprocess.Popen[bytes]] = {}


def spawn(argv: list[str], log: Path, cwd: Path, *, user: str | None = None) -> int:
    """Start `argv` in its own session (so it survives us and owns a process group), as
    `user` (and that user's group) if given."""
    with log.open("ab") as out:
        child = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            start_new_session=True,
            user=user,
            group=_group_of(user) if user else None,
            extra_groups=[] if user else None,
        )
    _children[child.pid] = child
    return child.pid


def _group_of(user: str) -> int:
    return pwd.getpwnam(user).pw_gid


def is_running(pid: int, exe: str, cwd: Path) -> bool:
    """True if `pid` is alive, runs `exe` and works in `cwd`, the lab root it was spawned in.

    The program name and working directory guard against a recycled PID, including one now
    used by another lab's daemon of the same kind.
    """
    _reap(pid)
    try:
        if _exe_name(pid) != exe or Path(f"/proc/{pid}/cwd").readlink() != cwd:
            return False
        # A zombie still has a /proc entry; its state letter is the field after "(comm)".
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def stop(pid: int, exe: str, cwd: Path, *, grace: float) -> None:
    """SIGTERM `pid`, wait `grace` seconds for its process group to exit, then SIGKILL it."""
    if not is_running(pid, exe, cwd):
        # The leader is gone; workers it left behind (same PGID, same program) still go.
        if _group_alive(pid) and all(_exe_name(p) == exe for p in _group_members(pid)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            _wait_gone(pid, 5.0)
        return
    # SIGTERM to the leader only lets it shut its workers down in order (Samba's root
    # process does). It was started with start_new_session, so its PGID is its PID and every
    # worker shares it: we wait for the whole group, and SIGKILL the group if it lingers.
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if _wait_gone(pid, grace):
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    if not _wait_gone(pid, 5.0):
        raise LabError(f"process group {pid} ({exe}) survived SIGKILL")


def _wait_gone(pgid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        _reap(pgid)
        if not _group_alive(pgid):
            # A zombie no longer counts as alive: collect our own child's exit status now,
            # or it stays a zombie (and Python warns it is "still running").
            child = _children.pop(pgid, None)
            if child is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.wait(5)
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def _group_alive(pgid: int) -> bool:
    return bool(_group_members(pgid))


def _group_members(pgid: int) -> list[int]:
    """PIDs of the live (non-zombie) processes in process group `pgid`."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            # fields[0] is the state, fields[2] the process group.
            if fields[2] == str(pgid) and fields[0] != "Z":
                members.append(int(stat.parent.name))
    return members


def _exe_name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/exe").readlink().name
    except OSError:
        return ""


def _reap(pid: int) -> None:
    # Only our own children can be reaped here; a daemon started by another process (say
    # `python -m pwreset_lab slapd start`) is reaped by init once it exits.
    child = _children.get(pid)
    if child is not None and child.poll() is not None:
        del _children[pid]


def wait_until(
    probe: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    pid: int,
    exe: str,
    cwd: Path,
    log: Path,
) -> None:
    """Poll `probe` until it is true; fail early if the daemon died, with the log's tail."""
    deadline = time.monotonic() + timeout
    while True:
        ok = probe()
        # Checked after a success too: the probe may have reached a different daemon on the
        # same port while ours was exiting (a fixed port like Samba's 389 already in use).
        if not is_running(pid, exe, cwd):
            raise LabError(f"{exe} exited before {what}; last lines of {log}:\n{log_tail(log)}")
        if ok:
            return
        if time.monotonic() > deadline:
            raise LabError(f"{what} did not happen within {timeout:.0f} s; {log}:\n{log_tail(log)}")
        time.sleep(0.05)


def log_tail(log: Path, lines: int = 30) -> str:
    try:
        text = log.read_text(errors="replace")
    except OSError as exc:
        return f"(no log: {exc})"
    return "\n".join(text.splitlines()[-lines:])
