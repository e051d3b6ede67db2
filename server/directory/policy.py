"""Reading an AD domain's password policy, to explain rejections Windows leaves unexplained.

Windows AD answers every policy failure of a password change with the same constraint
violation (0000052D). Users need to know which rule they broke, so the likely one is worked
out from the domain policy: length, then complexity, then history and minimum age.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import ldap3
from ldap3.core.exceptions import LDAPException

log = logging.getLogger(__name__)

_COMPLEX = 0x1  # DOMAIN_PASSWORD_COMPLEX in pwdProperties


@dataclass(frozen=True)
class AdPolicy:
    min_length: int = 0
    complexity: bool = False
    history: int = 0
    min_age_seconds: float = 0.0

    @classmethod
    def read(cls, conn: ldap3.Connection, base_dn: str) -> AdPolicy:
        try:
            conn.search(
                base_dn,
                "(objectClass=domain)",
                search_scope=ldap3.BASE,
                attributes=["minPwdLength", "pwdProperties", "pwdHistoryLength", "minPwdAge"],
            )
        except LDAPException as exc:
            log.warning("cannot read the domain password policy: %s", type(exc).__name__)
            return cls()
        entries = [r for r in conn.response or [] if r.get("type") == "searchResEntry"]
        if not entries:
            return cls()
        attrs = entries[0].get("attributes") or {}
        return cls(
            min_length=_int(attrs.get("minPwdLength")),
            complexity=bool(_int(attrs.get("pwdProperties")) & _COMPLEX),
            history=_int(attrs.get("pwdHistoryLength")),
            # Intervals are negative counts of 100 ns.
            min_age_seconds=abs(_int(attrs.get("minPwdAge"))) / 10_000_000,
        )


def meets_complexity(password: str, account_name: str) -> bool:
    """AD's complexity rule: three of five character classes, and not the account name."""
    if len(account_name) > 2 and account_name.casefold() in password.casefold():
        return False
    classes = [
        any(c.isupper() for c in password),
        any(c.islower() for c in password),
        any(c.isdigit() for c in password),
        any(not c.isalnum() for c in password),
        any(c.isalpha() and not (c.isupper() or c.islower()) for c in password),
    ]
    return sum(classes) >= 3


def diagnose_rejection(
    policy: AdPolicy, password: str, account_name: str, now: float
) -> tuple[str, str]:
    """The most likely rule a rejected password broke, as (error code, explanation)."""
    del now  # the user's pwdLastSet is not read; minimum age is named with history below
    if policy.min_length and len(password) < policy.min_length:
        return (
            "password_too_short",
            f"the password must have at least {policy.min_length} characters",
        )
    if policy.complexity and not meets_complexity(password, account_name):
        return (
            "password_complexity",
            "the password must mix at least three of: capital letters, small letters, "
            "digits and symbols, and must not contain the account name",
        )
    if policy.history:
        text = f"the password must differ from the last {policy.history} passwords"
        if policy.min_age_seconds:
            days = policy.min_age_seconds / 86400
            text += f", and a password can be changed once every {days:g} day(s)"
        return ("password_in_history", text)
    if policy.min_age_seconds:
        return ("password_too_young", "the password was changed too recently")
    return ("password_rejected", "")


def _int(value: Any) -> int:
    if isinstance(value, list):
        value = value[0] if value else 0
    try:
        return int(str(value))
    except ValueError:
        return 0
