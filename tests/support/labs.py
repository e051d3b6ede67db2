"""The lab directories for scripts outside pytest (bench/): the one running in a folder is
reused, or one is started there and stopped when `stack` closes."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Any

from pwreset import lab


def lab_and_admin(kind: str, base: Path, stack: ExitStack) -> tuple[Any, Any]:
    """The `kind` ("openldap" or "ad") lab under `base` and its admin helper."""
    if kind == "ad":
        root = base / "samba"
        running = lab.running_samba(root)
        if running is None:
            running = lab.start_samba(root)
            stack.callback(lab.stop_samba, running)
        return running, lab.SambaAdmin(running)
    root = base / "slapd"
    running = lab.running_slapd(root)
    if running is None:
        running = lab.start_slapd(root)
        stack.callback(lab.stop_slapd, running)
    return running, lab.SlapdAdmin(running)
