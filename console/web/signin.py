"""Who may sign in to the web console, and the audit texts of every sign-in and refusal.

A real bind through the domain's adapter, then the group check. The page shows every
refusal alike (nobody learns which accounts exist or who is an admin); the audit row says
why, with the name tried and the address, never the password.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pwreset.config.schema import Config
from pwreset.console.web.sessions import ADMIN, HELPDESK
from pwreset.protocol.limits import FIELD_LIMITS
from pwreset.protocol.printable import escape

if TYPE_CHECKING:
    from pwreset.server.directory.base import Directory

SIGNED_IN = "signed in to the web console"
SIGNED_OUT = "signed out of the web console"
# The refusals' audit texts; pwreset.server.siem.events gives each its own id.
REFUSED = "web console sign-in refused: "
WRONG_PASSWORD = REFUSED + "wrong password"
UNKNOWN_ACCOUNT = REFUSED + "unknown account"
NOT_IN_GROUP = REFUSED + "not in a console group"
UNKNOWN_DOMAIN = REFUSED + "unknown domain"
EMPTY_FIELD = REFUSED + "empty user name or password"
THROTTLED = REFUSED + "too many failed sign-ins"
DIRECTORY_REFUSED = REFUSED + "refused by the directory ({code})"
REFUSAL_TEXTS = (
    WRONG_PASSWORD,
    UNKNOWN_ACCOUNT,
    NOT_IN_GROUP,
    UNKNOWN_DOMAIN,
    EMPTY_FIELD,
    THROTTLED,
    DIRECTORY_REFUSED,
)


@dataclass(frozen=True)
class Attempt:
    """What a sign-in form named: the domain and the name, as the audit may hold them
    (unsafe characters escaped, cut to the fields' limits)."""

    domain: str
    name: str

    @classmethod
    def of(cls, config: Config, typed: str) -> Attempt:
        domain, name = _split(config, typed)
        known = config.domain(domain)
        return cls(
            known.name if known is not None else _safe(domain, "domain"),
            _safe(name, "username"),
        )

    @property
    def who(self) -> str:
        """The audit row's web user: the account as a signed-in admin would be named."""
        return f"console:{self.domain}\\{self.name}"[: FIELD_LIMITS["by"]]


def _split(config: Config, typed: str) -> tuple[str, str]:
    """(domain, name) of `DOMAIN\\name` or `name` (the console's or the first domain)."""
    domain, _, name = typed.rpartition("\\")
    return domain or config.console.domain or config.domains[0].name, name


def _safe(text: str, field: str) -> str:
    return escape(text.strip())[: FIELD_LIMITS[field]] or "-"


class SigninError(PermissionError):
    """A refused sign-in; `audit_text` says why (one of REFUSAL_TEXTS, filled in)."""

    def __init__(self, audit_text: str) -> None:
        super().__init__(audit_text)
        self.audit_text = audit_text


def directory_signin(config: Config, typed: str, password: str) -> tuple[str, str, frozenset[str]]:
    """(username as the directory spells it, domain, roles), or SigninError."""
    from pwreset.server.directory import DirectoryError, open_directory

    settings = config.console
    domain_name, name = _split(config, typed)
    index = next((i for i, d in enumerate(config.domains) if d.matches(domain_name)), None)
    if index is None:
        raise SigninError(UNKNOWN_DOMAIN)
    if not name.strip() or not password:
        raise SigninError(EMPTY_FIELD)
    directory = open_directory(config, index)
    try:
        user = directory.authenticate(name, password)
        roles = set()
        if settings.admin_groups and directory.is_member(user, settings.admin_groups):
            roles.add(ADMIN)
        if settings.helpdesk_groups and directory.is_member(user, settings.helpdesk_groups):
            roles.add(HELPDESK)
    except DirectoryError as exc:
        raise SigninError(_refusal(directory, name, exc.code)) from None
    if not roles:
        raise SigninError(NOT_IN_GROUP)
    return user.username, config.domains[index].name, frozenset(roles)


def _refusal(directory: Directory, name: str, code: str) -> str:
    """The audit text of a directory's refusal. The adapters report an unknown account as a
    wrong password (the pages must not tell them apart); the audit may, so it looks."""
    from pwreset.server.directory import DirectoryError

    if code != "wrong_password":
        return DIRECTORY_REFUSED.format(code=code)
    try:
        exists = directory.user_exists(name)
    except DirectoryError:
        return WRONG_PASSWORD
    return WRONG_PASSWORD if exists else UNKNOWN_ACCOUNT
