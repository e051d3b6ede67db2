"""What both lab directories share: their daemon (see `daemon`), and connections through the
server's own Connector (LDAPS with certificate checks), so the lab reaches a directory
exactly as pwreset does."""

from __future__ import annotations

import logging
import secrets
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from ldap3 import Connection

from pwreset.config.schema import Config, DomainConfig, TlsConfig
from pwreset.server.directory import DirectoryError
from pwreset.server.directory.connection import Connector
from pwreset_lab.daemon import LabDaemon

SAMPLE_USERS = ("alice", "bob", "carol", "dave", "erin")
SAMPLE_PASSWORD = "Init!Passw0rd-1"

# Connector resolves only a relative ca_file against the config: the lab's paths are absolute.
_NO_INSTANCE = Config()
# Lab operations (seeding Samba, bulk user creation under load) may take a while.
_TIMEOUT = 30.0
# While a daemon starts, failed binds are expected; the server logs each one as an ERROR.
_CONNECTION_LOG = logging.getLogger(Connector.__module__)


@dataclass(kw_only=True)
class LabDirectory(LabDaemon):
    """A running (or recorded) lab directory: where it is, how to reach it, who can bind."""

    KIND: ClassVar[Literal["ad", "openldap"]]

    admin_password: str
    service_password: str
    ca_file: Path
    base_dn: str
    sample_users: dict[str, str] = field(default_factory=dict)

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


def throwaway_password() -> str:
    # Meets AD complexity and any quality rule the labs set; only valid for this one lab.
    return f"Lab!{secrets.token_hex(8)}-1a"


def _drop(record: logging.LogRecord) -> bool:
    return False
