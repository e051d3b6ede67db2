"""What both lab directories share: the record in <root>/lab.json that lets another process
find and stop one, its daemon, and connections through the server's own Connector (LDAPS
with certificate checks), so the lab reaches a directory exactly as pwreset does."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import secrets
import shutil
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, Self

from ldap3 import Connection

from pwreset.config.schema import Config, DomainConfig, TlsConfig
from pwreset.server.directory import DirectoryError
from pwreset.server.directory.connection import Connector
from pwreset_lab import net, process
from pwreset_lab.errors import LabError

RECORD = "lab.json"
SAMPLE_USERS = ("alice", "bob", "carol", "dave", "erin")
SAMPLE_PASSWORD = "Init!Passw0rd-1"

# Connector resolves only a relative ca_file against the config: the lab's paths are absolute.
_NO_INSTANCE = Config()
# Lab operations (seeding Samba, bulk user creation under load) may take a while.
_TIMEOUT = 30.0
# While a daemon starts, failed binds are expected; the server logs each one as an ERROR.
_CONNECTION_LOG = logging.getLogger(Connector.__module__)


@dataclass(kw_only=True)
class LabDirectory:
    """A running (or recorded) lab directory: where it is, how to reach it, who can bind."""

    KIND: ClassVar[Literal["ad", "openldap"]]
    EXE: ClassVar[str]  # the daemon's program name, which guards against a recycled PID
    START_TIMEOUT: ClassVar[float]  # seconds the daemon may take to answer a bind
    STOP_GRACE: ClassVar[float]  # seconds between SIGTERM and SIGKILL

    root: Path
    pid: int
    admin_password: str
    service_password: str
    ca_file: Path
    base_dn: str
    sample_users: dict[str, str] = field(default_factory=dict)
    host: str = net.LOOPBACK

    # --- what each kind says about itself ---------------------------------------------------

    @property
    def ldaps_url(self) -> str:
        raise NotImplementedError

    @property
    def tls_name(self) -> str:
        """The name the certificate check expects."""
        raise NotImplementedError

    @property
    def admin_login(self) -> str:
        """What the administrator binds as (a DN, or a UPN on AD)."""
        raise NotImplementedError

    @property
    def service_login(self) -> str:
        """What the service account binds as."""
        raise NotImplementedError

    # --- connections -------------------------------------------------------------------------

    def connector(self, who: str, password: str) -> Connector:
        """The server's Connector for this lab, with `who` as its service account."""
        domain = DomainConfig(
            name="LAB",
            kind=self.KIND,
            urls=[self.ldaps_url],
            base_dn=self.base_dn,
            bind_dn=who,
            tls=TlsConfig(ca_file=self.ca_file, server_name=self.tls_name),
            timeout=_TIMEOUT,
        )
        return Connector(_NO_INSTANCE, domain, password)

    def user_session(
        self, who: str, password: str, controls: list[tuple[str, bool, Any]] | None = None
    ) -> AbstractContextManager[Connection]:
        """A connection that tried a bind as `who`, for the block: read `bound` and `result`."""
        return self.connector(who, password).user_session(who, password, controls)

    def session(self, who: str, password: str) -> AbstractContextManager[Connection]:
        """A connection bound as `who` for the block (DirectoryError if the bind fails)."""
        return self.connector(who, password).session()

    def admin_session(self) -> AbstractContextManager[Connection]:
        return self.session(self.admin_login, self.admin_password)

    def service_session(self) -> AbstractContextManager[Connection]:
        return self.session(self.service_login, self.service_password)

    def takes_bind(self, who: str, password: str) -> bool:
        """True if the directory accepts this bind now (a readiness probe: quiet on failure)."""
        _CONNECTION_LOG.addFilter(_drop)
        try:
            with self.session(who, password):
                return True
        except DirectoryError:
            return False
        finally:
            _CONNECTION_LOG.removeFilter(_drop)

    # --- the daemon ----------------------------------------------------------------------------

    def launch(self, argv: list[str], log: Path, ready: Callable[[], bool], what: str) -> None:
        """Spawn the daemon, record the lab, wait until `ready`; stop it if it never is."""
        self.pid = process.spawn(argv, log, self.root)
        self.to_json()
        try:
            process.wait_until(
                ready,
                timeout=self.START_TIMEOUT,
                what=what,
                pid=self.pid,
                exe=self.EXE,
                cwd=self.root,
                log=log,
            )
        except LabError:
            self.stop()
            raise

    def is_running(self) -> bool:
        return process.is_running(self.pid, self.EXE, self.root)

    def stop(self) -> None:
        """Stop the daemon by PID: SIGTERM, then SIGKILL of its group after STOP_GRACE s."""
        process.stop(self.pid, self.EXE, self.root, grace=self.STOP_GRACE)

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


def throwaway_password() -> str:
    # Meets AD complexity and any quality rule the labs set; only valid for this one lab.
    return f"Lab!{secrets.token_hex(8)}-1a"


def _drop(record: logging.LogRecord) -> bool:
    return False
