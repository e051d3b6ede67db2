"""ldap3 connections the way the lab wants them: TLS with certificate checks, no Nagle."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path
from typing import Any

from ldap3 import NONE, Connection, Server, Tls

from pwreset.lab.errors import LabError

# The ppolicy bind request control: without it OpenLDAP answers a locked account with a
# bare invalidCredentials, with it the response control says accountLocked.
PPOLICY_OID = "1.3.6.1.4.1.42.2.27.8.5.1"
PPOLICY_REQUEST = [(PPOLICY_OID, False, None)]

# An ldap3 modify's changes: attribute -> [(MODIFY_*, values)].
Changes = dict[str, list[tuple[str, list[Any]]]]


def tls_server(
    host: str, port: int, ca_file: Path, *, valid_names: list[str], use_ssl: bool = True
) -> Server:
    """A Server that checks the certificate against `ca_file` and one of `valid_names`."""
    tls = Tls(
        validate=ssl.CERT_REQUIRED,
        ca_certs_file=str(ca_file),
        valid_names=valid_names,
        # An explicit version keeps ldap3 from loading the system CA bundle per connection.
        version=ssl.PROTOCOL_TLS_CLIENT,
    )
    return Server(host, port=port, use_ssl=use_ssl, tls=tls, get_info=NONE, connect_timeout=5)


def plain_server(host: str, port: int) -> Server:
    return Server(host, port=port, get_info=NONE, connect_timeout=5)


def open_connection(server: Server, user: str | None, password: str | None) -> Connection:
    """An opened (TLS done, not bound) connection with TCP_NODELAY set."""
    conn = Connection(server, user=user, password=password, receive_timeout=30)
    conn.open()
    # ldap3 never sets TCP_NODELAY; without it each new TLS bind waits ~40 ms on delayed ACK.
    conn.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return conn


def bind(server: Server, user: str, password: str, controls: list[Any] | None = None) -> Connection:
    """A connection bound as `user`; check `conn.bound` and `conn.result` for the outcome."""
    conn = open_connection(server, user, password)
    conn.bind(controls=controls)
    return conn


def admin_connection(server: Server, user: str, password: str) -> Connection:
    """A bound connection, or an exception saying why the bind failed."""
    conn = bind(server, user, password)
    if not conn.bound:
        result = conn.result
        conn.unbind()
        raise LabError(f"bind as {user} failed: {result['description']} {result['message']}")
    return conn
