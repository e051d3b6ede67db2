"""What tests do to a lab directory as its administrator, the same for both kinds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


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


class DirectoryAdmin(Protocol):
    """Implemented by SlapdAdmin and SambaAdmin. Names are uid / sAMAccountName values."""

    def create_user(
        self, name: str, password: str, *, must_change: bool = False, disabled: bool = False
    ) -> str:
        """Create a new user in the People OU; return its DN."""
        ...

    def dn(self, name: str) -> str:
        """The DN of an existing user."""
        ...

    def bind(self, name: str, password: str) -> BindResult:
        """A real simple bind as the user over TLS with certificate checks."""
        ...

    def bind_ok(self, name: str, password: str) -> bool:
        """True if the directory accepted the bind."""
        ...

    def set_password(self, name: str, password: str, *, must_change: bool = False) -> None:
        """An administrator's password reset, optionally forcing a change at next logon."""
        ...

    def set_attribute(self, name: str, attribute: str, value: str) -> None:
        """Replace one attribute of the user."""
        ...

    def expire_password(self, name: str) -> None:
        """Make the user's password expired (the user may no longer sign in with it)."""
        ...

    def lock(self, name: str) -> None:
        """Lock the account the way an attacker would: bad binds until it is locked."""
        ...

    def is_locked(self, name: str) -> bool: ...

    def unlock(self, name: str) -> None: ...

    def delete_user(self, name: str) -> None: ...
