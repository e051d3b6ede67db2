"""A directory that drops the connection in the middle of an operation: the user hears
directory_unreachable (not a server error), and the admin's log names the domain and the
step that failed, never what was sent (the exception's text can quote a password)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from ldap3.core.exceptions import LDAPSocketReceiveError

from pwreset.config.loader import parse_config
from pwreset.server.directory.active_directory import ActiveDirectory
from pwreset.server.directory.base import Directory, DirectoryError, DirectoryUser
from pwreset.server.directory.openldap import OpenLdap

SECRET = "New!Passw0rd-7"
USER = DirectoryUser(dn="uid=alice,dc=a", username="alice", locked=True)


def _drop(*args: Any, **kwargs: Any) -> None:
    raise LDAPSocketReceiveError(f"connection reset while sending {SECRET}")


class _DroppingConnection:
    """Binds, then loses the connection on any operation, as a dying server does."""

    bound = True
    result: dict[str, Any] = {}
    response: list[dict[str, Any]] = []
    search = modify = staticmethod(_drop)

    # conn.extend.standard.modify_password, as ldap3 spells it.
    class extend:
        class standard:
            modify_password = staticmethod(_drop)


class _Connector:
    @contextlib.contextmanager
    def session(self) -> Iterator[_DroppingConnection]:
        yield _DroppingConnection()


def _directory(kind: str, tmp_path: Path) -> Directory:
    domain = {
        "name": "A",
        "kind": kind,
        "urls": ["ldaps://directory.invalid"],
        "base_dn": "dc=a",
        "bind_dn": "cn=svc,dc=a",
        "bind_password_env": "UNUSED",
    }
    config = parse_config({"domains": [domain]}, tmp_path / "pwreset.toml")
    adapter = ActiveDirectory if kind == "ad" else OpenLdap
    return adapter(config.domains[0], _Connector(), email_attr="mail", phone_attr="mobile")  # type: ignore[arg-type]


OPERATIONS: dict[str, Callable[[Directory], object]] = {
    "find_user": lambda d: d.find_user("alice"),
    "change_password": lambda d: d.change_password("alice", "Old!Passw0rd-1", SECRET),
    "reset_password": lambda d: d.reset_password(
        USER, SECRET, must_change=False, enforce_history=False
    ),
    "unlock": lambda d: d.unlock(USER),
    "is_member": lambda d: d.is_member(USER, ["helpdesk"]),
}


@pytest.mark.parametrize("kind", ["openldap", "ad"])
@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_a_dropped_connection_is_directory_unreachable(
    kind: str, operation: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    directory = _directory(kind, tmp_path)
    with caplog.at_level(logging.ERROR), pytest.raises(DirectoryError) as raised:
        OPERATIONS[operation](directory)
    assert raised.value.code == "directory_unreachable"
    assert "domain A: " in caplog.text and "failed: LDAPSocketReceiveError" in caplog.text
    assert SECRET not in caplog.text
