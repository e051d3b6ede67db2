"""Fixtures: a running backend per directory kind, and a relay client in front of it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from pwreset.api import RelaySettings, create_app

__all__ = ["samba_stack", "slapd_stack"]  # fixtures shared with the browser tests

from support.contract import check_replies
from support.stacks import Stack, samba_stack, slapd_stack


@pytest.fixture(params=["openldap", "ad"])
def directory(request: pytest.FixtureRequest) -> tuple[Stack, Any]:
    """The stack and the admin helper of one directory kind (each test runs on both)."""
    if request.param == "ad":
        return request.getfixturevalue("samba_stack"), request.getfixturevalue("samba_admin")
    return request.getfixturevalue("slapd_stack"), request.getfixturevalue("slapd_admin")


@pytest.fixture
def relay(directory: tuple[Stack, Any]) -> Iterator[TestClient]:
    stack, _ = directory
    app = create_app(RelaySettings.from_config(stack.config))
    with TestClient(app, base_url="https://testserver") as client:
        check_replies(client)
        yield client
