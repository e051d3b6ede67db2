"""What every lab daemon shares (the directories, PostgreSQL): the record in <root>/lab.json
that lets another process find and stop one, and starting it, waiting for it, stopping it."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Self

from pwreset_lab import net, process
from pwreset_lab.errors import LabError

RECORD = "lab.json"


@dataclass(kw_only=True)
class LabDaemon:
    """A running (or recorded) lab daemon in its own folder."""

    EXE: ClassVar[str]  # the daemon's program name, which guards against a recycled PID
    START_TIMEOUT: ClassVar[float]  # seconds the daemon may take to be ready
    STOP_GRACE: ClassVar[float]  # seconds between SIGTERM and SIGKILL

    root: Path
    pid: int
    host: str = net.LOOPBACK

    @property
    def workdir(self) -> Path:
        """Where the daemon works (its /proc cwd): the root, unless it moves elsewhere."""
        return self.root

    # --- the daemon ----------------------------------------------------------------------------

    def launch(
        self,
        argv: list[str],
        log: Path,
        ready: Callable[[], bool],
        what: str,
        user: str | None = None,
    ) -> None:
        """Spawn the daemon (as `user` if given), record the lab, wait until `ready`; stop
        it if it never is."""
        self.pid = process.spawn(argv, log, self.workdir, user=user)
        self.to_json()
        try:
            process.wait_until(
                ready,
                timeout=self.START_TIMEOUT,
                what=what,
                pid=self.pid,
                exe=self.EXE,
                cwd=self.workdir,
                log=log,
            )
        except LabError:
            self.stop()
            raise

    def is_running(self) -> bool:
        return process.is_running(self.pid, self.EXE, self.workdir)

    def stop(self) -> None:
        """Stop the daemon by PID: SIGTERM, then SIGKILL of its group after STOP_GRACE s."""
        process.stop(self.pid, self.EXE, self.workdir, grace=self.STOP_GRACE)

    @classmethod
    def running(cls, root: Path) -> Self | None:
        """The lab recorded under `root` if its daemon is running, else None."""
        if not is_recorded(root):
            return None
        lab = cls.from_json(root)
        return lab if lab.is_running() else None

    @classmethod
    def prepare_root(cls, root: Path) -> None:
        """An empty 0700 `root`, wiping a stopped lab there but nothing else."""
        if cls.running(root):
            raise LabError(f"a {cls.EXE} lab is already running in {root}; stop it first")
        if root.exists() and any(root.iterdir()) and not is_recorded(root):
            raise LabError(f"{root} is not empty and holds no lab; refusing to wipe it")
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(mode=0o700, parents=True)
        root.chmod(0o700)  # mkdir's mode is filtered by the umask, and an old dir may be looser

    # --- the record ----------------------------------------------------------------------------

    def to_json(self) -> None:
        """Write root/lab.json, readable by root's owner only."""
        data = {
            f.name: str(v) if isinstance(v := getattr(self, f.name), Path) else v
            for f in dataclasses.fields(self)
        }
        path = self.root / RECORD
        tmp = path.with_suffix(".tmp")
        # The record holds the throwaway lab's passwords: create it 0600 from the start.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(data, out, indent=2, sort_keys=True)
            out.write("\n")
        tmp.replace(path)

    @classmethod
    def from_json(cls, root: Path) -> Self:
        path = root / RECORD
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise LabError(f"no lab recorded in {root}: {exc}") from exc
        for f in dataclasses.fields(cls):
            if f.type in ("Path", Path) and f.name in data:
                data[f.name] = Path(data[f.name])
        try:
            return cls(**data)
        except TypeError as exc:
            raise LabError(f"{path} does not describe a {cls.__name__}: {exc}") from exc


def is_recorded(root: Path) -> bool:
    return (root / RECORD).is_file()
