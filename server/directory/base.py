"""The interface every directory adapter implements, and its error type."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from pwreset.server.passwords.directory_rules import DirectoryRules


@dataclass(frozen=True)
class DirectoryUser:
    """What the flows learn about a user from the directory (never from the browser)."""

    dn: str
    username: str  # the logon name as the directory spells it
    display_name: str = ""  # checked by the names rule of the password policy
    # A password policy of its own applies (an AD fine-grained policy, an OpenLDAP
    # pwdPolicySubentry), not the domain's that pwreset reads: the directory alone knows
    # its rules, so pwreset checks only the local ones before writing.
    own_policy: bool = False
    email: str = ""
    phone: str = ""
    disabled: bool = False
    locked: bool = False
    password_never_expires: bool = False
    password_set: float | None = None  # epoch seconds of the last change, if known
    language: str = ""  # the directory's preferredLanguage (RFC 2798), if set


# The directory attribute naming a user's language (inetOrgPerson; AD has it too).
PREFERRED_LANGUAGE = "preferredLanguage"


@dataclass(frozen=True)
class PasswordExpiry:
    """A user whose password expires, as an expiry notice needs them."""

    username: str
    email: str
    phone: str
    # When the password was last set (epoch seconds): a new password starts the notices over.
    password_set: float
    expires: float  # epoch seconds


class DirectoryError(Exception):
    """A directory outcome the user must hear about, as a stable code from
    `pwreset.protocol.codes` plus the directory's own reason when it gives one.

    `reason` is shown to the user, so adapters put only the directory's message text in it,
    never a DN, a password or a raw protocol dump.
    """

    def __init__(self, code: str, reason: str = "") -> None:
        super().__init__(f"{code}: {reason}" if reason else code)
        self.code = code
        self.reason = reason


class Directory(Protocol):
    """What the flows need from a directory."""

    name: str

    def change_password(self, username: str, old_password: str, new_password: str) -> None:
        """The user's own change (old + new), so the directory's policy applies.

        Raises DirectoryError: wrong_password (also for an unknown user, and for an account
        the directory refuses before it checks the password, such as a locked one, so
        nobody learns who exists or in which state), password_* policy codes,
        account_disabled (only once the password is proven),
        directory_unreachable, directory_refused.
        """
        ...

    def check(self) -> None:
        """Bind as the service account; raise DirectoryError if that fails."""
        ...

    def find_user(self, username: str) -> DirectoryUser | None:
        """The user, looked up by the service account; None if there is no such user."""
        ...

    def user_exists(self, username: str) -> bool:
        """Whether the directory still has the user (raises DirectoryError if it cannot
        tell, so a purge never takes "no answer" for "gone")."""
        ...

    def authenticate(self, username: str, password: str) -> DirectoryUser:
        """Prove the user knows the password with a real bind (a wrong one counts as a
        failed logon in the directory). Expired and must-change passwords are accepted:
        the password is right even if the user may not sign in with it."""
        ...

    def is_member(self, user: DirectoryUser, groups: Sequence[str]) -> bool:
        """Whether the user is in any of `groups` (names or DNs), nested groups included."""
        ...

    def reset_password(
        self, user: DirectoryUser, new_password: str, *, must_change: bool, enforce_history: bool
    ) -> None:
        """Set the password as the service account and clear a lockout.

        `must_change` asks for a change at next logon (skipped for passwords that never
        expire); `enforce_history` asks the directory to apply history and minimum age."""
        ...

    def unlock(self, user: DirectoryUser) -> None:
        """Clear the directory's lockout; the password stays as it is."""
        ...

    def min_password_age(self) -> float:
        """The directory's own minimum password age in seconds (0 when none or unknown)."""
        ...

    def password_expiries(
        self, until: float, seen: Callable[[int], None] | None = None
    ) -> list[PasswordExpiry]:
        """The enabled users in scope (under base_dn, matching the user filter) whose
        password expires before `until`, read page by page; `seen` is told how many users
        were read so far. Never those whose password never expires (by the account or its
        policy) or must be changed at next logon."""
        ...

    def users(self, seen: Callable[[int], None] | None = None) -> list[DirectoryUser]:
        """Every user in scope (under base_dn, matching the user filter with any name),
        disabled ones included, read page by page; `seen` is told how many were read."""
        ...

    def password_rules(self) -> DirectoryRules:
        """The directory's own password rules (AD's domain policy, OpenLDAP's default
        ppolicy entry), read at most every RULES_TTL seconds; none known when they cannot
        be read (the directory still enforces them when the password is written)."""
        ...
