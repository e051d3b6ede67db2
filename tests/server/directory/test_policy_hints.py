"""apr checklist 51 on Windows AD, which the lab's Samba cannot show: with
`enforce_history` the reset carries the policy-hints control the domain controller
announces (critical, so a DC that cannot apply it refuses rather than skips it), and none
without it. Samba's side (no control announced: the reset goes ahead, the log says history
does not apply) runs against the lab in tests/flows/test_reset_history.py."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pwreset.config.loader import parse_config
from pwreset.server.directory.active_directory import ActiveDirectory
from pwreset.server.directory.base import DirectoryUser

HINTS = "1.2.840.113556.1.4.2239"
HINTS_DEPRECATED = "1.2.840.113556.1.4.2066"
FLAGS_ON = b"\x30\x03\x02\x01\x01"  # SEQUENCE { flags INTEGER 1 }
USER = DirectoryUser(dn="CN=Alice,DC=a", username="alice")


class _Connection:
    """A domain controller that announces `announced` in its root DSE and accepts every
    modify, keeping the controls each one carried."""

    def __init__(self, announced: list[str]) -> None:
        self._announced = announced
        self.sent: list[Any] = []
        self.response: list[dict[str, Any]] = []
        self.result: dict[str, Any] = {}

    def search(self, base: str, flt: str, scope: str, attributes: list[str]) -> bool:
        assert base == "" and attributes == ["supportedControl"]
        attrs = {"supportedControl": self._announced}
        self.response = [{"type": "searchResEntry", "dn": "", "attributes": attrs}]
        return True

    def modify(self, dn: str, changes: dict[str, Any], controls: Any = None) -> bool:
        self.sent.append(controls)
        self.result = {"result": 0, "message": ""}
        return True


class _Connector:
    def __init__(self, conn: _Connection) -> None:
        self._conn = conn

    @contextlib.contextmanager
    def session(self) -> Iterator[_Connection]:
        yield self._conn


def _reset(tmp_path: Path, announced: list[str], *, enforce_history: bool) -> list[Any]:
    domain = {
        "name": "A",
        "kind": "ad",
        "urls": ["ldaps://dc.invalid"],
        "base_dn": "DC=a",
        "bind_dn": "CN=svc,DC=a",
        "bind_password_env": "UNUSED",
    }
    config = parse_config({"domains": [domain]}, tmp_path / "pwreset.toml")
    conn = _Connection(announced)
    directory = ActiveDirectory(
        config.domains[0],
        _Connector(conn),  # type: ignore[arg-type]
        email_attr="mail",
        phone_attr="mobile",
    )
    directory.reset_password(
        USER, "New!Passw0rd-7", must_change=False, enforce_history=enforce_history
    )
    return conn.sent


@pytest.mark.parametrize(
    ("announced", "oid"),
    [
        ([HINTS_DEPRECATED, HINTS], HINTS),  # Windows Server 2012 and later
        ([HINTS_DEPRECATED], HINTS_DEPRECATED),  # Windows Server 2008 R2
    ],
)
def test_the_announced_hints_follow_the_switch(tmp_path, announced, oid):
    assert _reset(tmp_path, announced, enforce_history=True) == [[(oid, True, FLAGS_ON)]]
    assert _reset(tmp_path, announced, enforce_history=False) == [None]


def test_a_directory_without_hints_resets_and_says_history_is_skipped(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        assert _reset(tmp_path, ["1.2.840.113556.1.4.319"], enforce_history=True) == [None]
    assert "password history does not apply to resets" in caplog.text
