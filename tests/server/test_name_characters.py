"""The backend refuses names with control or formatting characters even when a datagram
comes straight to its UDP port, past every relay check (security review, low: control
characters in usernames)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from pwreset.protocol.sealing import open_reply

from support.backend import Backend, start_backend

SITES = """
[api]
enrollment_status = true

[sites.hr]
domains = ["EXAMPLE"]
"""

BODIES: dict[str, dict[str, Any]] = {
    "change": {"domain": "EXAMPLE", "old_password": "a", "new_password": "b"},
    "enroll": {"domain": "EXAMPLE", "password": "a", "answers": []},
    "reset.start": {"domain": "EXAMPLE"},
    "unlock.start": {"domain": "EXAMPLE"},
    "enrollment_status": {"domain": "EXAMPLE"},
}


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    server = start_backend(tmp_path_factory.mktemp("names"), SITES)
    yield server
    server.stop()


def _failure(backend: Backend, op: str, body: dict[str, Any]) -> tuple[str, dict[str, str]]:
    request, datagram, reply_key = backend.ping(op=op, vdir="hr", body=body)
    reply = open_reply(backend.send(datagram), reply_key)
    assert reply.request_id == request.request_id and reply.failure is not None
    return reply.failure.code, dict(reply.failure.params)


@pytest.mark.parametrize("op", sorted(BODIES))
@pytest.mark.parametrize("char", ["\n", "\x1b", "\x9b", "\u2028", "\u202e", "\u200b"])
def test_a_name_with_an_unsafe_character_is_refused(backend, op, char):
    """security review, low."""
    body = {**BODIES[op], "username": f"adm{char}in"}
    assert _failure(backend, op, body) == ("invalid_characters", {"field": "username"})
    body = {**BODIES[op], "username": "admin", "domain": f"EXAMPLE{char}"}
    assert _failure(backend, op, body) == ("invalid_characters", {"field": "domain"})


def test_a_upn_with_an_unsafe_character_is_refused(backend):
    """security review, low."""
    body = {"upn": "admin\x1b[2J@example.org"}
    assert _failure(backend, "enrollment_status", body) == ("invalid_characters", {"field": "upn"})
