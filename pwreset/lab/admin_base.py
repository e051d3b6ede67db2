"""What SlapdAdmin and SambaAdmin do the same way; each supplies its connection, DNs,
binds and lock check."""

from __future__ import annotations

from contextlib import AbstractContextManager

from ldap3 import MODIFY_REPLACE, Connection

from pwreset.lab.admin import BindResult
from pwreset.lab.errors import LabError

# Well above the lab policies' lockout threshold (3): lock() gives up after this many.
MAX_BAD_BINDS = 10


class LabAdmin:
    # The BindResult.detail that says "locked" (the ppolicy error, or AD's data code).
    LOCKED_DETAIL = ""

    def _admin(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def dn(self, name: str) -> str:
        raise NotImplementedError

    def bind(self, name: str, password: str) -> BindResult:
        raise NotImplementedError

    def is_locked(self, name: str) -> bool:
        raise NotImplementedError

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
