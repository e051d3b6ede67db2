"""The connector's own guard: no bind over a connection that is not encrypted, even for a
domain table that skipped the schema's check (security review 1)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from ldap3.core import pooling

from pwreset.config.loader import parse_config
from pwreset.server.directory.base import DirectoryError
from pwreset.server.directory.connection import Connector

from support.ldap_listener import LdapListener


def test_plain_url_without_start_tls_is_never_bound(tmp_path: Path) -> None:
    """security review 1: a plain ldap:// server with start_tls off gets no bind at all"""
    with LdapListener(tmp_path / "listener") as listener:
        domain = {
            "name": "A",
            "kind": "openldap",
            "urls": [listener.url],
            "start_tls": True,
            "base_dn": "dc=a",
            "bind_dn": "cn=svc,dc=a",
            "bind_password_env": "UNUSED",
            "timeout": 3,
        }
        config = parse_config({"domains": [domain]}, tmp_path / "pwreset.toml")
        # model_copy skips validation: the state the schema can no longer produce.
        unchecked = config.domains[0].model_copy(update={"start_tls": False})
        connector = Connector(config, unchecked, "Service!Passw0rd-1")
        with pytest.raises(DirectoryError) as raised:
            connector.bind("cn=svc,dc=a", "Service!Passw0rd-1")
    assert raised.value.code == "directory_unreachable"
    assert listener.binds("clear") == 0, listener.seen


def test_a_directory_that_is_down_fails_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every URL refused: directory_unreachable after one pass, without the 10 s pause that
    ldap3's server pool would otherwise sleep after it (every request, and the server's
    start, waited for it)."""
    with socket.socket() as sock:  # a port nothing listens on: the connection is refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    domain = {
        "name": "A",
        "kind": "openldap",
        "urls": [f"ldaps://127.0.0.1:{port}", f"ldaps://127.0.0.1:{port}"],
        "base_dn": "dc=a",
        "bind_dn": "cn=svc,dc=a",
        "bind_password_env": "UNUSED",
    }
    config = parse_config({"domains": [domain]}, tmp_path / "pwreset.toml")
    pauses: list[float] = []
    monkeypatch.setattr(pooling, "sleep", pauses.append)
    connector = Connector(config, config.domains[0], "Service!Passw0rd-1")
    with pytest.raises(DirectoryError) as raised:
        connector.bind("cn=svc,dc=a", "Service!Passw0rd-1")
    assert raised.value.code == "directory_unreachable"
    assert sum(pauses) == 0
