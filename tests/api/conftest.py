"""Fixtures: a real backend process (its placeholder directory is never contacted) and a
relay in front of it; and the real backend against the OpenLDAP lab, for tests of what
the relay seals."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from pwreset.api import RelaySettings, create_app
from pwreset.config import load_config

from support.backend import Backend, free_udp_port, start_backend
from support.contract import check_replies
from support.stacks import slapd_stack

__all__ = ["backend", "client", "slapd_stack"]

# hr offers a flow, closed none, and elsewhere relays to a server that never answers.
SITES = """
[web]
server = "127.0.0.1:{port}"
timeout = 0.2
attempts = 2

[sites.hr]
title = "Human Resources"
flows = ["change"]
domains = ["EXAMPLE"]

[sites.closed]
flows = []

[sites.elsewhere]
server = "127.0.0.1:{dead}"
"""


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    server = start_backend(tmp_path_factory.mktemp("relay"), SITES, dead=free_udp_port())
    yield server
    server.stop()


@pytest.fixture
def client(backend: Backend) -> Iterator[TestClient]:
    """The relay of `backend`; every reply is checked against the OpenAPI document."""
    config = load_config(backend.folder / "pwreset.toml")
    with TestClient(create_app(RelaySettings.from_config(config))) as client:
        yield check_replies(client)
