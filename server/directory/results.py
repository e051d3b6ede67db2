"""Turning raw LDAP results into the stable error codes users see."""

from __future__ import annotations

import logging
import re
from typing import Any

from pwreset.server.directory.base import DirectoryError

log = logging.getLogger(__name__)

# ldap3 result codes used here
SUCCESS = 0
OPERATIONS_ERROR = 1
REFERRAL = 10
CONSTRAINT_VIOLATION = 19
INVALID_CREDENTIALS = 49
INSUFFICIENT_ACCESS = 50
UNAVAILABLE = 52
UNWILLING = 53
AUTHORIZATION_DENIED = 123  # RFC 4370: may not act as the proxied identity

_AD_DATA = re.compile(r"\bdata ([0-9a-fA-F]{3,8})\b")
_AD_PREFIX = re.compile(r"^[0-9A-Fa-f]{8}: ")


def code(result: Any) -> int:
    return int((result or {}).get("result", -1))


def message(result: Any) -> str:
    return str((result or {}).get("message") or "")


def ad_bind_data(result: Any) -> str | None:
    """The `data XXX` sub-code of an AD bind failure (52e, 775, 533, 773, ...)."""
    match = _AD_DATA.search(message(result))
    return match.group(1).lower() if match else None


def directory_reason(text: str) -> str:
    """The human part of a directory message, without status prefixes and internal ids.

    Samba: "0000052D: Constraint violation - check_password_restrictions: the password is too
    short. It should be ..." -> "the password is too short. It should be ...". Windows AD's
    messages ("0000052D: AtrErr: DSID-...") carry no human part, so they give "".
    """
    text = text.strip().rstrip("\x00")
    if not text or "DSID-" in text:
        return ""
    text = _AD_PREFIX.sub("", text)
    if " - " in text:
        text = text.split(" - ", 1)[1]
    if ": " in text:
        text = text.rsplit(": ", 1)[1]
    return text[:300]


def unexpected(domain: str, operation: str, result: Any) -> DirectoryError:
    """The error for a result no adapter expects: logged in full for the admin, told to the
    user as a refusal with the directory's own reason."""
    log.error(
        "domain %s: unexpected %s result %s %s",
        domain,
        operation,
        code(result),
        message(result)[:200],
    )
    if code(result) == INSUFFICIENT_ACCESS:
        return DirectoryError("directory_refused", "the service account lacks a right")
    return DirectoryError("directory_refused", directory_reason(message(result)))
