"""Active Directory (and Samba AD): `unicodePwd` over LDAPS, `lockoutTime`, `pwdLastSet`,
and the domain password policy that explains a rejection Windows leaves unexplained."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import ldap3
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars

from pwreset.server.directory import results
from pwreset.server.directory.base import PREFERRED_LANGUAGE, DirectoryError, DirectoryUser
from pwreset.server.directory.ldap_base import (
    Changes,
    Control,
    Expiring,
    LdapDirectory,
    Seen,
    first,
    first_int,
)
from pwreset.server.passwords.directory_rules import DirectoryRules

log = logging.getLogger(__name__)

# Bind "data" sub-codes that still prove the password: the user may not sign in, but may
# change the password (LTB's change_expired_password does the same).
_PASSWORD_RIGHT = {"773", "532"}  # must change at next logon, password expired
# Sub-codes AD gives only when the password was right, so they may be told to the user.
# Anything else is a wrong password to the user, notably 775 (locked): AD answers it
# whatever the password, so telling it would show a stranger that the account exists and
# is locked. The lock is logged for the admin instead.
_BIND_ERRORS = {
    "533": "account_disabled",
    "701": "account_disabled",  # account expired
    "530": "not_permitted",  # logon hours
    "531": "not_permitted",  # workstation restriction
}
_LOCKED = "775"
_UF_ACCOUNTDISABLE = 0x2
_UF_LOCKOUT = 0x10
_UF_DONT_EXPIRE_PASSWD = 0x10000
_FILETIME_EPOCH = 11644473600  # seconds from 1601-01-01 to 1970-01-01
# LDAP_SERVER_POLICY_HINTS, then the _DEPRECATED one of Windows Server 2008 R2: apply
# history and minimum age to a reset. Value: SEQUENCE { flags INTEGER 1 }.
_POLICY_HINTS_OIDS = ("1.2.840.113556.1.4.2239", "1.2.840.113556.1.4.2066")
_POLICY_HINTS_VALUE = b"\x30\x03\x02\x01\x01"
_COMPUTED_UAC = "msDS-User-Account-Control-Computed"
# The expiry AD works out for the user from the domain policy or the user's resultant
# fine-grained policy (PSO): 0 when it must be changed at next logon, this when never.
_EXPIRY_COMPUTED = "msDS-UserPasswordExpiryTimeComputed"
_NEVER = 0x7FFFFFFFFFFFFFFF
# Enabled accounts with an expiring, set password: the rest is left to the directory.
_MAY_EXPIRE = (
    f"(!(userAccountControl:1.2.840.113556.1.4.803:={_UF_ACCOUNTDISABLE}))"
    f"(!(userAccountControl:1.2.840.113556.1.4.803:={_UF_DONT_EXPIRE_PASSWD}))"
    "(pwdLastSet>=1)"
)
# The fine-grained password policy (PSO) that applies to the user, if any (constructed).
_RESULTANT_PSO = "msDS-ResultantPSO"


def _quoted(password: str) -> bytes:
    return f'"{password}"'.encode("utf-16-le")


class ActiveDirectory(LdapDirectory):
    _user_attributes: ClassVar[list[str]] = [
        "sAMAccountName",
        "displayName",
        "userAccountControl",
        _COMPUTED_UAC,
        "pwdLastSet",
        _RESULTANT_PSO,
        PREFERRED_LANGUAGE,
    ]

    def _find(self, svc: ldap3.Connection, username: str) -> DirectoryUser | None:
        name = username.strip()
        # DOMAIN\\user is accepted; the default filter matches user@domain (the UPN) too.
        if "\\" in name:
            name = name.split("\\", 1)[1]
        found = self._search_one(svc, name, self._user_attributes)
        return None if found is None else self._user_of(*found)

    def _user_of(self, dn: str, attrs: dict[str, Any]) -> DirectoryUser:
        uac = first_int(attrs.get("userAccountControl"))
        computed = first_int(attrs.get(_COMPUTED_UAC))
        return DirectoryUser(
            dn=dn,
            username=first(attrs.get("sAMAccountName")),
            display_name=first(attrs.get("displayName")),
            own_policy=bool(first(attrs.get(_RESULTANT_PSO))),
            disabled=bool(uac & _UF_ACCOUNTDISABLE),
            locked=bool(computed & _UF_LOCKOUT),
            password_never_expires=bool(uac & _UF_DONT_EXPIRE_PASSWD),
            password_set=_filetime(attrs.get("pwdLastSet")),
            email=first(attrs.get(self._email_attr)),
            phone=first(attrs.get(self._phone_attr)),
            language=first(attrs.get(PREFERRED_LANGUAGE)),
        )

    # --- the user's own password (sign-in and change: LdapDirectory) -----------------------

    def _bind_failure(self, user: DirectoryUser, result: object) -> None:
        if results.code(result) != results.INVALID_CREDENTIALS:
            raise results.unexpected(self.name, "bind", result)
        data = results.ad_bind_data(result)
        if data in _PASSWORD_RIGHT:
            return
        if data == _LOCKED:
            log.info(
                "domain %s: bind refused, the account is locked (told: wrong password)", self.name
            )
        raise DirectoryError(_BIND_ERRORS.get(data or "", "wrong_password"))

    def _change(self, conn: ldap3.Connection, user: DirectoryUser, old: str, new: str) -> object:
        changes: Changes = {
            "unicodePwd": [
                (ldap3.MODIFY_DELETE, [_quoted(old)]),
                (ldap3.MODIFY_ADD, [_quoted(new)]),
            ]
        }
        return self._modify(conn, user.dn, changes, "password change")

    # --- the service account's operations -------------------------------------------------

    def reset_password(
        self, user: DirectoryUser, new_password: str, *, must_change: bool, enforce_history: bool
    ) -> None:
        changes: Changes = {
            "unicodePwd": [(ldap3.MODIFY_REPLACE, [_quoted(new_password)])],
            # A reset also unlocks the account.
            "lockoutTime": [(ldap3.MODIFY_REPLACE, ["0"])],
        }
        if must_change and not user.password_never_expires:
            changes["pwdLastSet"] = [(ldap3.MODIFY_REPLACE, ["0"])]
        with self._connector.session() as svc:
            controls = self._policy_hints(svc) if enforce_history else None
            result = self._modify(svc, user.dn, changes, "reset", controls)
            if results.code(result) != results.SUCCESS:
                raise self._rejection(svc, user, result, new_password)

    def _policy_hints(self, svc: ldap3.Connection) -> list[Control] | None:
        """The policy-hints control the directory announces, sent critical. Samba (4.17)
        announces none and ignores or refuses it: its resets skip history whatever is
        sent, so the reset goes ahead and only the minimum age applies (pwreset's own
        check of `minPwdAge`)."""
        with self._reaching("root DSE read"):
            svc.search("", "(objectClass=*)", ldap3.BASE, attributes=["supportedControl"])
        announced: set[str] = set()
        for entry in svc.response or []:
            if entry.get("type") == "searchResEntry":
                announced.update(map(str, entry["attributes"].get("supportedControl") or []))
        for oid in _POLICY_HINTS_OIDS:
            if oid in announced:
                return [(oid, True, _POLICY_HINTS_VALUE)]
        log.warning(
            "domain %s: the directory has no policy-hints control (Samba has none), so "
            "password history does not apply to resets; pwreset applies the domain's "
            "minimum password age itself (security.enforce_directory_history)",
            self.name,
        )
        return None

    def unlock(self, user: DirectoryUser) -> None:
        with self._connector.session() as svc:
            self._write(svc, user.dn, {"lockoutTime": [(ldap3.MODIFY_REPLACE, ["0"])]}, "unlock")

    def is_member(self, user: DirectoryUser, groups: Sequence[str]) -> bool:
        if not groups:
            return False
        # LDAP_MATCHING_RULE_IN_CHAIN: the directory follows nested groups itself.
        names = "".join(
            f"(cn={g})(sAMAccountName={g})(distinguishedName={g})"
            for g in (escape_filter_chars(name) for name in groups)
        )
        flt = (
            "(&(objectClass=group)"
            f"(member:1.2.840.113556.1.4.1941:={escape_filter_chars(user.dn)})(|{names}))"
        )
        with self._connector.session() as svc:
            return bool(self._entries(svc, "group search", flt, ["cn"], size_limit=1))

    def min_password_age(self) -> float:
        with self._connector.session() as svc:
            return read_domain_policy(svc, self._domain.base_dn).min_age_seconds

    def _read_password_rules(self, svc: ldap3.Connection) -> DirectoryRules:
        return read_domain_policy(svc, self._domain.base_dn)

    def _expiring(self, svc: ldap3.Connection, seen: Seen) -> Iterator[Expiring]:
        attributes = ["sAMAccountName", "userAccountControl", "pwdLastSet", _EXPIRY_COMPUTED]
        for attrs in self._every_user(svc, _MAY_EXPIRE, attributes, seen):
            ticks = first_int(attrs.get(_EXPIRY_COMPUTED))
            password_set = _filetime(attrs.get("pwdLastSet"))
            if first_int(attrs.get("userAccountControl")) & _UF_DONT_EXPIRE_PASSWD:
                continue
            if ticks <= 0 or ticks >= _NEVER or password_set is None:
                continue  # must change at next logon, or never expires
            expires = ticks / 10_000_000 - _FILETIME_EPOCH
            yield first(attrs.get("sAMAccountName")), password_set, expires, attrs

    def _rejection(
        self, svc: ldap3.Connection, user: DirectoryUser, result: object, new_password: str
    ) -> DirectoryError:
        code = results.code(result)
        text = results.message(result)
        if code == results.CONSTRAINT_VIOLATION:
            if text.upper().startswith("00000056"):
                return DirectoryError("wrong_password")
            reason = results.directory_reason(text)
            specific = _samba_reason(reason)
            if specific:
                return DirectoryError(specific, reason)
            # Windows AD gives no reason: work out the likely one from the domain policy.
            policy = read_domain_policy(svc, self._domain.base_dn)
            guess, explanation = diagnose_rejection(
                policy, new_password, user.username, time.time()
            )
            return DirectoryError(guess, reason or explanation)
        if code == results.UNWILLING:
            return DirectoryError(
                "directory_refused", "the directory requires an encrypted connection"
            )
        if code == results.INSUFFICIENT_ACCESS:
            log.error(
                "domain %s: the service account may not change %s (a protected account, or "
                "missing delegation: Reset Password, lockoutTime, pwdLastSet)",
                self.name,
                user.dn,
            )
            return DirectoryError(
                "directory_refused", "the service account is not allowed to change this account"
            )
        raise results.unexpected(self.name, "modify", result)


# --- the domain password policy -------------------------------------------------------------
# Windows AD answers every policy failure of a password change with the same constraint
# violation (0000052D). Users need to know which rule they broke, so the likely one is worked
# out from the domain policy: length, then complexity, then history and minimum age.

_COMPLEX = 0x1  # DOMAIN_PASSWORD_COMPLEX in pwdProperties


def read_domain_policy(conn: ldap3.Connection, base_dn: str) -> DirectoryRules:
    """The domain's password policy; no rule known if it cannot be read, since it only
    explains a rejection the directory already made."""
    try:
        conn.search(
            base_dn,
            "(objectClass=domain)",
            search_scope=ldap3.BASE,
            attributes=["minPwdLength", "pwdProperties", "pwdHistoryLength", "minPwdAge"],
        )
    except LDAPException as exc:
        log.warning("cannot read the domain password policy: %s", type(exc).__name__)
        return DirectoryRules()
    entries = [r for r in conn.response or [] if r.get("type") == "searchResEntry"]
    if not entries:
        return DirectoryRules()
    attrs = entries[0].get("attributes") or {}
    return DirectoryRules(
        min_length=first_int(attrs.get("minPwdLength")),
        complexity=bool(first_int(attrs.get("pwdProperties")) & _COMPLEX),
        history=first_int(attrs.get("pwdHistoryLength")),
        # Intervals are negative counts of 100 ns.
        min_age_seconds=abs(first_int(attrs.get("minPwdAge"))) / 10_000_000,
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
    policy: DirectoryRules, password: str, account_name: str, now: float
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


def _samba_reason(reason: str) -> str | None:
    lower = reason.lower()
    if "too short" in lower:
        return "password_too_short"
    if "history" in lower or "already used" in lower:
        return "password_in_history"
    if "complexity" in lower:
        return "password_complexity"
    if "too young" in lower:
        return "password_too_young"
    return None


def _filetime(value: object) -> float | None:
    ticks = first_int(value)
    if ticks <= 0:
        return None
    return ticks / 10_000_000 - _FILETIME_EPOCH
