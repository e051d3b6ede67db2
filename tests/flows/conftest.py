"""Fixtures: `flows` makes a backend with chosen settings on each directory kind."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from support.flowstack import FlowStack, flow_stack

Make = Callable[..., FlowStack]


@pytest.fixture(params=["openldap", "ad"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def flows(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Make]:
    """`flows(**settings)` starts a backend whose pwreset.toml has those tables merged in."""
    yield from _flows(kind, request, tmp_path)


@pytest.fixture
def ad_flows(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Make]:
    """`flows` on Active Directory only, for behaviours OpenLDAP does not have."""
    yield from _flows("ad", request, tmp_path)


def _flows(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Make]:
    lab = request.getfixturevalue("samba_lab" if kind == "ad" else "slapd_lab")
    admin = request.getfixturevalue("samba_admin" if kind == "ad" else "slapd_admin")
    with ExitStack() as stack:
        count = 0

        running: dict[int, ExitStack] = {}

        def start(root: Path, settings: dict[str, Any]) -> FlowStack:
            own = ExitStack()
            made = own.enter_context(flow_stack(kind, lab, admin, root, settings))
            made.restarter = lambda old, new: restart(root, old, new)
            made.stopper = lambda: running.pop(id(made)).close()
            running[id(made)] = own
            stack.callback(own.close)
            return made

        def restart(root: Path, old: FlowStack, settings: dict[str, Any]) -> FlowStack:
            own = running.pop(id(old), None)  # None: stopped already (stack.stop())
            if own is not None:
                own.close()
            return start(root, settings)

        def make(**settings: Any) -> FlowStack:
            nonlocal count
            count += 1
            root = tmp_path / f"stack{count}"
            root.mkdir()
            return start(root, settings)

        yield make


@pytest.fixture
def user(kind: str, request: pytest.FixtureRequest, fresh_user_name: str) -> str:
    """A fresh directory user with the sample password, mail and mobile."""
    from support.flowstack import PASSWORD

    admin = request.getfixturevalue("samba_admin" if kind == "ad" else "slapd_admin")
    admin.create_user(fresh_user_name, PASSWORD)
    return fresh_user_name


@pytest.fixture
def own_users_only(kind: str, fresh_user_name: str) -> dict[str, str]:
    """A `domain` setting whose user filter finds only the users named `fresh_user_name…`:
    the rounds that read every user in scope (and the reports) see this test's users, not
    the whole lab's."""
    if kind == "ad":
        flt = ("(&(objectCategory=person)(objectClass=user)(sAMAccountName={username})"
               f"(sAMAccountName={fresh_user_name}*))")  # fmt: skip
    else:
        flt = f"(&(objectClass=inetOrgPerson)(uid={{username}})(uid={fresh_user_name}*))"
    return {"user_filter": flt}
