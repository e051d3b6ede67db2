"""What tests do to a lab directory as its administrator: LabAdmin holds what both kinds do
the same way; SlapdAdmin and SambaAdmin supply their DNs, bind names and lock checks."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from ldap3 import MODIFY_REPLACE, Connection

from pwreset_lab.directory import LabDirectory
from pwreset_lab.errors import LabError

# Well above the lab policies' lockout threshold (3): lock() gives up after this many.
MAX_BAD_BINDS = 10

# An ldap3 modify's changes: attribute -> [(MODIFY_*, values)].
Changes = dict[str, list[tuple[str, list[Any]]]]

Lab = TypeVar("Lab", bound=LabDirectory)


@dataclass(frozen=True)
class BindResult:
    """The outcome of one simple bind as a user.

    `detail` is what tells locked from wrong password: the ppolicy error name on OpenLDAP
    (e.g. "accountLocked", "changeAfterReset"), the "data" sub-code on AD (e.g. "775").
    """

    ok: bool
    code: int
    message: str
    detail: str = ""


class LabAdmin(Generic[Lab]):
    """The administrator of one lab directory. Names are uid / sAMAccountName values."""

    # The BindResult.detail that says "locked" (the ppolicy error, or AD's data code).
    LOCKED_DETAIL: ClassVar[str] = ""
    # Request controls sent with a user's bind.
    BIND_CONTROLS: ClassVar[list[tuple[str, bool, Any]] | None] = None

    def __init__(self, lab: Lab) -> None:
        self.lab = lab

    # --- what each kind does its own way -------------------------------------------------------

    def dn(self, name: str) -> str:
        """The DN of an existing user."""
        raise NotImplementedError

    def login(self, name: str) -> str:
        """What the user binds as."""
        raise NotImplementedError

    def bind_detail(self, result: dict[str, Any]) -> str:
        """The BindResult.detail of an ldap3 bind result."""
        raise NotImplementedError

    def create_user(
        self, name: str, password: str, *, must_change: bool = False, disabled: bool = False
    ) -> str:
        """Create a new user in the People OU; return its DN."""
        raise NotImplementedError

    def set_password(self, name: str, password: str, *, must_change: bool = False) -> None:
        """An administrator's password reset, optionally forcing a change at next logon."""
        raise NotImplementedError

    def expire_password(self, name: str) -> None:
        """Make the user's password expired (the user may no longer sign in with it)."""
        raise NotImplementedError

    def is_locked(self, name: str) -> bool:
        raise NotImplementedError

    def unlock(self, name: str) -> None:
        raise NotImplementedError

    def delete_user(self, name: str) -> None:
        raise NotImplementedError

    # --- the same on both ----------------------------------------------------------------------

    def _admin(self) -> AbstractContextManager[Connection]:
        return self.lab.admin_session()

    def bind(self, name: str, password: str) -> BindResult:
        """A real simple bind as the user over TLS with certificate checks."""
        with self.lab.user_session(self.login(name), password, self.BIND_CONTROLS) as conn:
            result = conn.result
            return BindResult(
                ok=bool(conn.bound),
                code=int(result["result"]),
                message=str(result["message"]),
                detail=self.bind_detail(result),
            )

    def bind_ok(self, name: str, password: str) -> bool:
        """True if the directory accepted the bind."""
        return self.bind(name, password).ok

    def lock(self, name: str) -> None:
        """Lock the account the way an attacker would: bad binds until it is locked."""
        wrong = "Wrong!Passw0rd-0"
        for _ in range(MAX_BAD_BINDS):
            if self.bind(name, wrong).detail == self.LOCKED_DETAIL or self.is_locked(name):
                return
        raise LabError(f"{name} is not locked after {MAX_BAD_BINDS} bad binds")

    def set_attribute(self, name: str, attribute: str, value: str | None) -> None:
        """Replace one attribute of the user (contact details for the tests); None removes it."""
        with self._admin() as conn:
            change = {attribute: [(MODIFY_REPLACE, [] if value is None else [value])]}
            check(conn, conn.modify(self.dn(name), change), f"set {attribute} of {name}")


def check(conn: Connection, done: bool, what: str) -> None:
    if not done:
        raise LabError(f"{what}: {conn.result['description']} {conn.result['message']}")
