"""Security review 1: no password ever goes to a directory in clear, whichever URL of the
list a failover lands on (relay -> sealed UDP -> backend -> the directory's wire)."""

from __future__ import annotations

from typing import Any

import ldap3
import pytest

from support.flowstack import PASSWORD
from support.ldap_listener import BIND_REQUEST, EXTENDED_REQUEST, LdapListener, Seen
from support.stacks import free_port

# Samba's ldap:// port (fixed, see pwreset_lab.samba.TCP_PORTS).
SAMBA_LDAP_PORT = 389
NEW = "Failover!Passw0rd-5"


def _dead_ldaps() -> str:
    """An ldaps:// URL where nothing listens, so the pool fails over to the next one."""
    return f"ldaps://127.0.0.1:{free_port('tcp')}"


def _change(stack: Any, user: str, old: str = PASSWORD, new: str = NEW) -> Any:
    return stack.post(
        "change",
        {"domain": stack.domain, "username": user, "old_password": old, "new_password": new},
    )


@pytest.mark.parametrize("verify", [True, False])
def test_failover_to_ldap_url_starts_tls_before_any_bind(flows, user, tmp_path, verify):
    """security review 1: with ldaps:// first (down) and ldap:// second, the bind on the
    second URL goes inside StartTLS, also with tls.verify = false"""
    with LdapListener(tmp_path / "listener") as listener:
        stack = flows(
            domain={
                "urls": [_dead_ldaps(), listener.url],
                "start_tls": True,
                "timeout": 3,
                "tls": {
                    "verify": verify,
                    "ca_file": str(listener.cert_file),
                    "server_name": "localhost",
                },
            }
        )
        reply = _change(stack, user)
    # The stand-in turns every bind down, so the change itself fails.
    assert reply.json()["code"] == "directory_refused"
    assert listener.binds("clear") == 0, listener.seen
    assert listener.binds("tls") >= 1, listener.seen
    assert listener.seen[0] == Seen("clear", EXTENDED_REQUEST)


@pytest.mark.parametrize("start_tls", ["refuse", "break"])
def test_failed_start_tls_never_falls_back_to_a_clear_bind(flows, user, tmp_path, start_tls):
    """security review 1: StartTLS refused, or its handshake cut off, on the failover URL:
    no bind is sent at all, and the user hears that the directory is unreachable"""
    with LdapListener(tmp_path / "listener", start_tls) as listener:
        stack = flows(
            domain={
                "urls": [_dead_ldaps(), listener.url],
                "start_tls": True,
                "timeout": 3,
                "tls": {"ca_file": str(listener.cert_file), "server_name": "localhost"},
            }
        )
        reply = _change(stack, user)
    assert reply.json()["code"] == "directory_unreachable"
    assert listener.seen, "the backend never reached the ldap:// URL"
    assert all(s.tag != BIND_REQUEST for s in listener.seen), listener.seen


def test_failover_to_start_tls_on_the_real_directory(flows, kind, user, request):
    """security review 1: failover from a dead ldaps:// URL to the real directory's ldap://
    port works with start_tls, and both binds (service account, user) go over TLS: the lab
    directories refuse a simple bind in clear (Samba as AD does, slapd by olcSecurity)"""
    lab = request.getfixturevalue("samba_lab" if kind == "ad" else "slapd_lab")
    port = SAMBA_LDAP_PORT if kind == "ad" else lab.port
    service = lab.service_upn if kind == "ad" else lab.service_dn
    clear = ldap3.Connection(ldap3.Server(lab.host, port), service, lab.service_password)
    clear.bind()
    try:
        assert not clear.bound, "the lab accepts a password in clear: the test proves nothing"
    finally:
        clear.unbind()
    stack = flows(domain={"urls": [_dead_ldaps(), f"ldap://127.0.0.1:{port}"], "start_tls": True})
    reply = _change(stack, user)
    assert reply.status_code == 200, reply.text
    assert stack.admin.bind_ok(user, NEW)


def test_a_referral_never_takes_the_service_account_elsewhere(flows, user, tmp_path):
    """security review 1: a directory (or a read-only DC) answering with a referral to an
    ldap:// URL must not make the backend bind there in clear with the service account's
    password (ldap3 follows referrals and rebinds by default)"""
    with LdapListener(tmp_path / "elsewhere") as elsewhere:
        referral = f"{elsewhere.url}/dc=example,dc=org"
        with LdapListener(tmp_path / "dc", ldaps=True, referral=referral) as dc:
            stack = flows(
                domain={
                    "urls": [dc.url],
                    "timeout": 3,
                    "tls": {"ca_file": str(dc.cert_file), "server_name": "localhost"},
                }
            )
            reply = _change(stack, user)
    assert dc.binds("tls") >= 1, dc.seen  # the backend did talk to the directory
    assert reply.status_code >= 400
    assert elsewhere.seen == []
