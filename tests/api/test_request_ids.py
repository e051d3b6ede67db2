"""The relay's request ids (pwreset.protocol.trace): a trusted proxy's X-Request-ID is
taken, anyone else's is not (a client must not make its requests look like someone else's
in the logs), a malformed one is replaced, and every response names its id."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from pwreset.api import RelaySettings, create_app
from pwreset.config import load_config
from pwreset.instance import create_instance

PROXY = "10.1.2.3"
OWN_ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> RelaySettings:
    folder: Path = tmp_path_factory.mktemp("ids")
    create_instance(folder, config_text='[web]\ntrusted_proxies = ["10.0.0.0/8"]\n')
    return RelaySettings.from_config(load_config(folder / "pwreset.toml"))


def _id(settings: RelaySettings, peer: str, headers: list[tuple[str, str]]) -> str:
    with TestClient(create_app(settings), client=(peer, 40000)) as client:
        reply = client.get("/nowhere/api/v1/meta", headers=headers)
    assert reply.status_code == 404  # an unknown site: answered by the relay alone
    return str(reply.headers["X-Request-ID"])


def test_a_trusted_proxys_request_id_is_taken(settings):
    assert _id(settings, PROXY, [("X-Request-ID", "6f1c-42:ab")]) == "6f1c-42:ab"


@pytest.mark.parametrize(
    "headers",
    [
        [("X-Request-ID", "a log line\nforged")],
        [("X-Request-ID", 'quote"]')],
        [("X-Request-ID", "x" * 129)],
        [("X-Request-ID", "one"), ("X-Request-ID", "two")],
        [],
    ],
)
def test_a_malformed_or_missing_id_gets_a_new_one(settings, headers):
    assert OWN_ID.fullmatch(_id(settings, PROXY, headers))


def test_an_untrusted_clients_request_id_is_not_taken(settings):
    got = _id(settings, "203.0.113.9", [("X-Request-ID", "6f1c-42:ab")])
    assert OWN_ID.fullmatch(got)
    assert _id(settings, "203.0.113.9", []) != got  # one per request
