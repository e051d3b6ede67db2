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
from ldap3.core.exceptions import LDAPException, LDAPSASLPrepError, LDAPStartTLSError

from pwreset.config.schema import Config, DomainConfig
from pwreset.server.directory.base import DirectoryError

log = logging.getLogger(__name__)

# ldap3's ServerPool sleeps POOLING_LOOP_TIMEOUT (10 s) after every pass over the URLs that
# found none up, also after its last pass (active=1 below): a request to a directory that
# is down would wait 10 s for nothing before failing. One pass, then fail at once.
ldap3.set_config_parameter("POOLING_LOOP_TIMEOUT", 0)


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
            _close(conn)
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
            # ldap3 would follow a referral to any host the answer names, in clear if the
            # URL says ldap://, and bind there with these credentials: never.
            auto_referrals=False,
        )
        try:
            conn.open(read_server_info=False)
            _nodelay(conn)
            self._secure(conn)
            conn.bind(read_server_info=False, controls=list(controls) if controls else None)
        except LDAPStartTLSError as exc:
            where = _url(conn)
            _close(conn)
            # No fallback to a bind in clear, and no moving on to bind anyway.
            what = f"{where} over TLS (no bind was sent)"
            raise _unreachable(self.domain, exc, what) from None
        except LDAPSASLPrepError as exc:
            # ldap3 refuses to send a password SASLprep forbids (a control character): no
            # directory holds such a password, so it is a wrong one, not an unreachable
            # directory (found by fuzzing the API: it was a 502 and an ERROR in the log).
            _close(conn)
            log.warning("domain %s: a password for %s was not sent: %s", self.domain.name, who, exc)
            raise DirectoryError("wrong_password") from None
        except LDAPException as exc:
            _close(conn)
            raise _unreachable(self.domain, exc) from None
        return conn

    def _secure(self, conn: ldap3.Connection) -> None:
        """Make sure the connection is encrypted before anything secret goes over it.

        The pool may have failed over to any of the URLs, so the decision is made for the
        server ldap3 actually connected, never from the configured list.
        """
        if not conn.server.ssl:
            if not self.domain.start_tls:
                # The schema refuses ldap:// without start_tls; this guards code paths that
                # build a DomainConfig without it.
                raise LDAPStartTLSError(f"{_url(conn)} is plain LDAP and start_tls is off")
            conn.start_tls(read_server_info=False)
        # ldap3's bind reopens a closed connection (possibly on another server of the pool,
        # in clear), and start_tls may return without raising: check the socket itself.
        if conn.closed or not isinstance(conn.socket, ssl.SSLSocket):
            raise LDAPStartTLSError(f"the connection to {_url(conn)} is not encrypted")

    @contextlib.contextmanager
    def session(self) -> Iterator[ldap3.Connection]:
        """A connection bound as the service account, closed afterwards."""
        conn = self.service()
        try:
            yield conn
        finally:
            _close(conn)

    @contextlib.contextmanager
    def user_session(
        self, who: str, password: str, controls: Sequence[tuple[str, bool, Any]] | None = None
    ) -> Iterator[ldap3.Connection]:
        """A connection that tried a bind as `who`, closed afterwards: the caller reads
        `conn.bound` and `conn.result` (a refused bind is an answer, not an error)."""
        conn = self.bind(who, password, controls)
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


def _url(conn: ldap3.Connection) -> str:
    server = conn.server
    scheme = "ldaps" if server.ssl else "ldap"
    return f"{scheme}://{server.host}:{server.port}"


def _close(conn: ldap3.Connection) -> None:
    with contextlib.suppress(LDAPException, OSError):
        conn.unbind()
    # ldap3's ServerPool keeps a state per connection it ever served and never lets go:
    # without this every connection, with the password it bound with, stayed in memory
    # for the life of the server (found by the datagram fuzzer's memory check, issue 9).
    pool = getattr(conn, "server_pool", None)
    if pool is not None:
        pool.pool_states.pop(conn, None)


def close(conn: ldap3.Connection) -> None:
    _close(conn)


def _unreachable(domain: DomainConfig, exc: Exception, what: str = "") -> DirectoryError:
    text = str(exc)
    hint = ""
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate" in text.lower():
        hint = " (the directory's TLS certificate was not accepted: check tls.ca_file and "
        hint += "tls.server_name)"
    where = what or ", ".join(domain.urls)
    log.error("domain %s: cannot reach %s: %s%s", domain.name, where, text, hint)
    return DirectoryError("directory_unreachable")
