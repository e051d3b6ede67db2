"""The password package's errors: each names what an admin must fix (file, line, reason)."""

from __future__ import annotations

from pathlib import Path


class PasswordsError(Exception):
    """Base of the package's errors; `code` is stable for scripts and logs."""

    code = "password_policy"


class SourceError(PasswordsError):
    """A Pwned Passwords download that cannot be imported."""

    code = "breached_source"

    def __init__(self, file: Path, line: int | None, reason: str) -> None:
        self.file, self.line, self.reason = file, line, reason
        where = f"{file}, line {line}" if line is not None else str(file)
        super().__init__(f"{where}: {reason}")


class BreachedFileError(PasswordsError):
    """An imported breached-password file that cannot be used."""

    code = "breached_file"

    def __init__(self, file: Path, reason: str) -> None:
        self.file, self.reason = file, reason
        super().__init__(f"{file}: {reason}")
