"""Whose address the relay believes, through a real `pwreset web` (uvicorn) in front of the
real backend and the OpenLDAP lab: the rate limit and the audit log key on it (security
review 8). Every change here has a wrong password, so each is audited with the address the
relay sealed."""

from __future__ import annotations

import http.client
import json
import secrets
from pathlib import Path

import pytest

from pwreset.api.client_ip import parse_ip

from support.stacks import Stack
from support.web import run_web


def _web_config(stack: Stack, name: str, extra: str) -> Path:
    """A relay config beside the stack's (same keys), with `extra` lines in [web]."""
    text = (stack.instance / "pwreset.toml").read_text()
    path = stack.instance / f"web-{name}.toml"
    path.write_text(text.replace("[web]\n", f"[web]\nrate_limit = 3\n{extra}\n", 1))
    return path


def _change(
    url: str, headers: dict[str, str] | list[tuple[str, str]], username: str = "alice"
) -> tuple[int, dict]:
    """POST change with these header lines (a list may repeat a name)."""
    lines = list(headers.items()) if isinstance(headers, dict) else headers
    body = json.dumps(
        {"domain": "EXAMPLE", "username": username, "old_password": "x", "new_password": "y"}
    ).encode()
    connection = http.client.HTTPConnection(url.removeprefix("http://"), timeout=20)
    try:
        connection.putrequest("POST", "/pwreset/api/v1/change")
        for name, value in [("Content-Type", "application/json"), *lines]:
            connection.putheader(name, value)
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        reply = connection.getresponse()
        return reply.status, json.loads(reply.read() or b"{}")
    finally:
        connection.close()


def _audited_ips(stack: Stack, username: str) -> list[str]:
    return [ip for ip, _ in stack.audited(username)]


def _name(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(3)}"


def test_forged_forwarded_headers_from_an_untrusted_peer_change_nothing(slapd_stack):
    """security review 8: uvicorn believed X-Forwarded-For from loopback whatever
    trusted_proxies said; a forged header must move neither the rate limit nor the audit."""
    extra = 'trusted_proxies = ["10.0.0.0/8"]\nweb_user_header = "X-Remote-User"'
    config = _web_config(slapd_stack, "untrusted", extra)
    user = _name("forger")
    with run_web(config) as url:
        answers = [
            _change(url, {"X-Forwarded-For": f"198.51.100.{n}", "X-Remote-User": "boss"}, user)
            for n in range(4)
        ]
    assert [status for status, _ in answers] == [401, 401, 401, 429], answers
    assert answers[3][1]["code"] == "rate_limited"  # every forged address had the peer's bucket
    assert slapd_stack.audited(user) == [("127.0.0.1", "")] * 3


def test_forwarded_proto_from_an_untrusted_peer_does_not_count_as_https(slapd_stack):
    """security review 8: X-Forwarded-Proto is believed only from trusted_proxies."""
    config = _web_config(slapd_stack, "plain", "require_https = true")
    with run_web(config) as url:
        status, body = _change(url, {"X-Forwarded-Proto": "https"})
    assert (status, body["code"]) == (403, "https_required")


def test_a_trusted_proxy_is_believed_and_a_junk_hop_is_no_server_error(slapd_stack):
    """security review 8: hops are parsed as addresses; a 100-character hop gave a 500."""
    config = _web_config(slapd_stack, "trusted", 'trusted_proxies = ["127.0.0.0/8"]')
    proxied, junk, chained = _name("proxied"), _name("junk"), _name("chained")
    with run_web(config) as url:
        answers = [
            _change(url, {"X-Forwarded-For": "203.0.113.7"}, proxied),
            _change(url, {"X-Forwarded-For": "x" * 100}, junk),
            # A proxy that adds its own header line: its line, not the client's, counts.
            _change(
                url,
                [("X-Forwarded-For", "198.51.100.1"), ("X-Forwarded-For", "203.0.113.8")],
                chained,
            ),
        ]
    assert [status for status, _ in answers] == [401] * 3, answers
    assert _audited_ips(slapd_stack, proxied) == ["203.0.113.7"]
    # The proxy (loopback) wrote a hop that is no address: the request counts as its own.
    assert _audited_ips(slapd_stack, junk) == ["127.0.0.1"]
    assert _audited_ips(slapd_stack, chained) == ["203.0.113.8"]


def test_ipv6_clients_of_one_64_share_a_bucket(slapd_stack):
    """security review 8: IPv6 was counted per address, so a /64 held 2^64 buckets."""
    config = _web_config(slapd_stack, "six", 'trusted_proxies = ["127.0.0.0/8"]')
    user = _name("six")
    with run_web(config) as url:
        same = [_change(url, {"X-Forwarded-For": f"2001:db8:1:2::{n:x}"}, user) for n in range(4)]
        other = _change(url, {"X-Forwarded-For": "2001:db8:1:3::1"}, user)
        mapped = [_change(url, {"X-Forwarded-For": "::ffff:192.0.2.5"}, user) for _ in range(4)]
    assert [status for status, _ in same] == [401, 401, 401, 429]
    assert other[0] == 401  # the next /64 is someone else's
    # An IPv4 address is counted per address however it is spelled, and audited as IPv4.
    assert [status for status, _ in mapped] == [401, 401, 401, 429]
    assert _audited_ips(slapd_stack, user)[-1] == "192.0.2.5"


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("192.0.2.1", "192.0.2.1"),
        (" 192.0.2.1:8443 ", "192.0.2.1"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("2001:DB8:0::1", "2001:db8::1"),
        ("fe80::1%eth0", "fe80::1"),
        ("::ffff:192.0.2.1", "192.0.2.1"),
        ("unknown", None),
        ("x" * 100, None),
        ("192.0.2.1:http", None),
        ("[2001:db8::1", None),
        ("192.0.2.1\x1b[2J", None),
        ("", None),
    ],
)
def test_hops_are_parsed_as_addresses(text, parsed):
    """security review 8: each hop is an address or nothing, in one spelling."""
    ip = parse_ip(text)
    assert (str(ip) if ip else None) == parsed
