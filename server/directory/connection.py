"""Opening ldap3 connections to one configured directory, with TLS checks on by default."""

from __future__ import annotations

import contextlib
import logging
import math
import socket
import ssl
from collections.abc import Iterator, Sequence
from typing import Any

import ldap3
from ldap3.core.exceptions import LDAPException, LDAPSocketOpenError, LDAPStartTLSError

from pwreset.config.schema import Config, DomainConfig
from pwreset.server.directory.base import DirectoryError

log = logging.getLogger(__name__)


class Connector:
    """Builds bound connections for one domain: as the service account or as a user."""

    def __init__(self, config: Config, domain: DomainConfig, service_password: str) -> None:
        self.domain = domain
        self._service_password = service_password
        tls = _tls(config, domain)
        servers = []
        for url in domain.urls:
            use_ssl = url.startswith("ldaps://")
            servers.append(
                ldap3.Server(
                    url,
                    use_ssl=use_ssl,
                    tls=tls,
                    get_info=ldap3.NONE,
                    connect_timeout=domain.timeout,
                )
            )
        # FIRST: try the URLs in the configured order, move on when one is down.
        self._pool = ldap3.ServerPool(servers, ldap3.FIRST, active=1, exhaust=False)

    def service(self) -> ldap3.Connection:
        """A connection bound as the service account."""
        conn = self.bind(self.domain.bind_dn, self._service_password)
        if not conn.bound:
            result = dict(conn.result)
            conn.unbind()
            log.error(
                "domain %s: the service account %s cannot bind: %s %s",
                self.domain.name,
                self.domain.bind_dn,
                result.get("description"),
                result.get("message"),
            )
            raise DirectoryError(
                "directory_refused", "the service account could not sign in to the directory"
            )
        return conn

    def bind(
        self, who: str, password: str, controls: Sequence[tuple[str, bool, Any]] | None = None
    ) -> ldap3.Connection:
        """Open a connection and try a simple bind; the caller reads `conn.result`."""
        conn = ldap3.Connection(
            self._pool,
            user=who,
            password=password,
            raise_exceptions=False,
            # ldap3 packs this into a C struct: it must be a whole number.
            receive_timeout=max(1, math.ceil(self.domain.timeout)),
            read_only=False,
        )
        try:
            conn.open()
            _nodelay(conn)
            if self.domain.start_tls and not self.domain.urls[0].startswith("ldaps://"):
                conn.start_tls()
            conn.bind(controls=list(controls) if controls else None)
        except LDAPStartTLSError as exc:
            raise _unreachable(self.domain, exc) from None
        except LDAPSocketOpenError as exc:
            raise _unreachable(self.domain, exc) from None
        except LDAPException as exc:
            raise _unreachable(self.domain, exc) from None
        return conn

    @contextlib.contextmanager
    def session(self) -> Iterator[ldap3.Connection]:
        conn = self.service()
        try:
            yield conn
        finally:
            _close(conn)


def _tls(config: Config, domain: DomainConfig) -> ldap3.Tls:
    # version=PROTOCOL_TLS_CLIENT stops ldap3 from loading the system CA bundle again on
    # every connection (about 50 ms each, see the directory lab notes).
    if not domain.tls.verify:
        return ldap3.Tls(validate=ssl.CERT_NONE, version=ssl.PROTOCOL_TLS_CLIENT)
    ca = str(config.path(domain.tls.ca_file)) if domain.tls.ca_file else None
    names = [domain.tls.server_name] if domain.tls.server_name else None
    return ldap3.Tls(
        validate=ssl.CERT_REQUIRED,
        version=ssl.PROTOCOL_TLS_CLIENT,
        ca_certs_file=ca,
        valid_names=names,
    )


def _nodelay(conn: ldap3.Connection) -> None:
    # ldap3 leaves Nagle on, which costs ~40 ms per new TLS connection on the bind.
    sock = getattr(conn, "socket", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _close(conn: ldap3.Connection) -> None:
    with contextlib.suppress(LDAPException, OSError):
        conn.unbind()


def close(conn: ldap3.Connection) -> None:
    _close(conn)


def _unreachable(domain: DomainConfig, exc: Exception) -> DirectoryError:
    text = str(exc)
    hint = ""
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate" in text.lower():
        hint = " (the directory's TLS certificate was not accepted: check tls.ca_file and "
        hint += "tls.server_name)"
    log.error("domain %s: cannot reach %s: %s%s", domain.name, ", ".join(domain.urls), text, hint)
    return DirectoryError("directory_unreachable")
