"""The interface every directory adapter implements, and its error type."""

from __future__ import annotations

from typing import Protocol


class DirectoryError(Exception):
    """A directory outcome the user must hear about, as a stable code from
    `pwreset.protocol.errors` plus the directory's own reason when it gives one.

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

        Raises DirectoryError: wrong_password (also for an unknown user, so nobody learns
        who exists), password_* policy codes, account_locked, account_disabled,
        directory_unreachable, directory_refused.
        """
        ...

    def check(self) -> None:
        """Bind as the service account; raise DirectoryError if that fails."""
        ...
