"""OpenLDAP with the ppolicy overlay: the Password Modify extended operation, and the
ppolicy attributes for lockout (`pwdAccountLockedTime`) and must-change (`pwdReset`).

ppolicy exempts a password administrator (`manage` on userPassword) from all its checks
and applies every one to anybody else; it has no switch for history alone. So a password
is written as the user (proxied authorization, RFC 4370): ppolicy applies the user's own
rules. A reset without `enforce_history` that ppolicy refused only for history or
minimum age is then written again as the service account, the password administrator:
quality applies to every reset, history and minimum age only when asked, as on AD."""

from __future__ import annotations

import calendar
import logging
import time
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import ldap3
from ldap3.core.exceptions import LDAPSASLPrepError
from ldap3.utils.conv import escape_filter_chars

from pwreset.server.directory import ppolicy, results
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
from pwreset.server.passwords.directory_rules import (
    PPOLICY_ATTRIBUTES,
    DirectoryRules,
    from_ppolicy,
)

log = logging.getLogger(__name__)

# pwdAccountLockedTime set to this value locks the account until an admin removes it:
# the ppolicy way of disabling an account.
_ADMIN_LOCK = "000001010000Z"
_NESTING = 10  # levels of nested groups followed

_POLICY_ERRORS = {
    "passwordTooShort": "password_too_short",
    "passwordInHistory": "password_in_history",
    "insufficientPasswordQuality": "password_complexity",
    "passwordTooYoung": "password_too_young",
    "passwordTooLong": "password_rejected",
    "passwordModNotAllowed": "not_permitted",
    "mustSupplyOldPassword": "wrong_password",
}
# The refusals of a write as the user that a reset without `enforce_history` overrides.
_RESET_EXEMPT = {"passwordInHistory", "passwordTooYoung"}
# RFC 4370 proxied authorization: the operation is done with the user's identity.
_PROXIED_AUTHZ = "2.16.840.1.113730.3.4.18"


class OpenLdap(LdapDirectory):
    bind_controls = (ppolicy.REQUEST,)

    _user_attributes: ClassVar[list[str]] = [
        "uid", "displayName", "cn", "pwdAccountLockedTime", "pwdChangedTime",
        "pwdPolicySubentry", PREFERRED_LANGUAGE,
    ]  # fmt: skip

    def _find(self, svc: ldap3.Connection, username: str) -> DirectoryUser | None:
        found = self._search_one(svc, username.strip(), self._user_attributes)
        return None if found is None else self._user_of(*found)

    def _user_of(self, dn: str, attrs: dict[str, Any]) -> DirectoryUser:
        locked_time = first(attrs.get("pwdAccountLockedTime"))
        return DirectoryUser(
            dn=dn,
            username=first(attrs.get("uid")),
            # inetOrgPerson's displayName is optional; the cn is the full name then.
            display_name=first(attrs.get("displayName")) or first(attrs.get("cn")),
            own_policy=bool(first(attrs.get("pwdPolicySubentry"))),
            disabled=locked_time == _ADMIN_LOCK,
            locked=bool(locked_time) and locked_time != _ADMIN_LOCK,
            password_set=_generalized_time(first(attrs.get("pwdChangedTime"))),
            email=first(attrs.get(self._email_attr)),
            phone=first(attrs.get(self._phone_attr)),
            language=first(attrs.get(PREFERRED_LANGUAGE)),
        )

    def _bind_failure(self, user: DirectoryUser, result: object) -> None:
        response = ppolicy.from_result(result)
        if response.error == "passwordExpired":
            return
        if response.error == "accountLocked":
            # ppolicy answers this before it checks the password (a right and a wrong one
            # get the same reply), so the user hears "wrong password": telling "locked" or
            # "disabled" would show a stranger that the account exists and its state.
            state = "disabled" if user.disabled else "locked"
            log.info(
                "domain %s: bind refused, the account is %s (told: wrong password)",
                self.name,
                state,
            )
            raise DirectoryError("wrong_password")
        if results.code(result) == results.INVALID_CREDENTIALS:
            raise DirectoryError("wrong_password")
        raise results.unexpected(self.name, "bind", result)

    def _change(self, conn: ldap3.Connection, user: DirectoryUser, old: str, new: str) -> object:
        # Over the user's own connection this also covers pwdReset (changeAfterReset): a
        # user who must change the password may still use the Password Modify operation.
        return self._password_modify(conn, user.dn, old, new)

    def reset_password(
        self, user: DirectoryUser, new_password: str, *, must_change: bool, enforce_history: bool
    ) -> None:
        with self._connector.session() as svc:
            result = self._password_modify(svc, user.dn, None, new_password)
            if not enforce_history and self._exempt(result):
                result = self._password_modify(svc, user.dn, None, new_password, as_user=False)
            if results.code(result) != results.SUCCESS:
                raise self._rejection(svc, user, result, new_password)
            # ppolicy itself sets pwdReset on an administrator's reset when the policy
            # says pwdMustChange: pwreset's setting decides, so it is written either way.
            changes: Changes = {
                "pwdReset": [(ldap3.MODIFY_REPLACE, ["TRUE"] if must_change else [])]
            }
            if user.locked:
                changes["pwdAccountLockedTime"] = [(ldap3.MODIFY_REPLACE, [])]
            self._write(svc, user.dn, changes, "reset")

    def _exempt(self, result: object) -> bool:
        """Whether a reset refused as the user may be done again as password administrator:
        refused for history or minimum age only, or because the service account may not
        act as the user (set up as before, with `write`: ppolicy then applies everything)."""
        if results.code(result) == results.AUTHORIZATION_DENIED:
            log.warning(
                "domain %s: the service account may not act as the user (proxied "
                "authorization); the reset is sent as the service account, to which ppolicy "
                "applies every rule with `write` on userPassword and none with `manage`; see "
                "docs/configuration.md",
                self.name,
            )
            return True
        return ppolicy.from_result(result).error in _RESET_EXEMPT

    def unlock(self, user: DirectoryUser) -> None:
        if user.disabled:
            raise DirectoryError("account_disabled")
        with self._connector.session() as svc:
            # REPLACE with no values removes the attribute and is fine when it is absent;
            # the overlay also forgets the failure times.
            self._write(
                svc, user.dn, {"pwdAccountLockedTime": [(ldap3.MODIFY_REPLACE, [])]}, "unlock"
            )

    def is_member(self, user: DirectoryUser, groups: Sequence[str]) -> bool:
        wanted = {g.casefold() for g in groups}
        if not wanted:
            return False
        seen: set[str] = set()
        frontier = [user.dn]
        with self._connector.session() as svc:
            # groupOfNames / groupOfUniqueNames, followed level by level for nested groups.
            for _ in range(_NESTING):
                if not frontier:
                    break
                members = "".join(
                    f"(member={escape_filter_chars(dn)})(uniqueMember={escape_filter_chars(dn)})"
                    for dn in frontier
                )
                flt = (
                    f"(&(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))(|{members}))"
                )
                entries = self._entries(svc, "group search", flt, ["cn"])
                frontier = []
                for entry in entries:
                    dn = str(entry["dn"])
                    cns = (entry.get("attributes") or {}).get("cn") or []
                    names = {dn.casefold(), *(str(c).casefold() for c in cns)}
                    if names & wanted:
                        return True
                    if dn.casefold() not in seen:
                        seen.add(dn.casefold())
                        frontier.append(dn)
        return False

    def min_password_age(self) -> float:
        # slapd applies pwdMinAge itself to a reset that enforces it (written as the user).
        return 0.0

    def _read_password_rules(self, svc: ldap3.Connection) -> DirectoryRules:
        # The default policy (olcPPolicyDefault) is named in cn=config, which the service
        # account cannot read: the one pwdPolicy entry under the base is taken for it.
        entries = self._policies(svc, list(PPOLICY_ATTRIBUTES))
        if not entries:
            return DirectoryRules()
        if len(entries) > 1:
            log.warning("domain %s: %d ppolicy entries; the rules shown are those of %s",
                        self.name, len(entries), entries[0]["dn"])  # fmt: skip
        attrs = entries[0].get("attributes") or {}
        values = [first_int(attrs.get(name)) for name in PPOLICY_ATTRIBUTES]
        return from_ppolicy(*values)

    def _expiring(self, svc: ldap3.Connection, seen: Seen) -> Iterator[Expiring]:
        attributes = ["uid", "pwdChangedTime", "pwdPolicySubentry", "pwdAccountLockedTime",
                      "pwdReset"]  # fmt: skip
        max_ages = self._max_ages(svc)
        # A password never set through ppolicy has no pwdChangedTime: it never expires.
        for attrs in self._every_user(svc, "(pwdChangedTime=*)", attributes, seen):
            if first(attrs.get("pwdAccountLockedTime")) == _ADMIN_LOCK:
                continue  # disabled
            if first(attrs.get("pwdReset")).upper() == "TRUE":
                continue  # must change at next logon
            policy = first(attrs.get("pwdPolicySubentry")).casefold()
            if policy not in max_ages:
                max_ages[policy] = self._max_age_of(svc, policy)
            changed = _generalized_time(first(attrs.get("pwdChangedTime")))
            if max_ages[policy] <= 0 or changed is None:
                continue  # the policy lets passwords live for ever
            yield first(attrs.get("uid")), changed, changed + max_ages[policy], attrs

    def _policies(self, svc: ldap3.Connection, attributes: list[str]) -> list[dict[str, Any]]:
        """The ppolicy entries under the base, in the directory's order: the first is taken
        for the default policy (named in cn=config, which the service account cannot read)."""
        return self._entries(svc, "password policy search", "(objectClass=pwdPolicy)", attributes)

    def _max_ages(self, svc: ldap3.Connection) -> dict[str, int]:
        """pwdMaxAge of every policy entry under the base by DN (case-folded), and under ""
        that of the default policy: the one the password rules are read from."""
        entries = self._policies(svc, ["pwdMaxAge"])
        ages = {str(e["dn"]).casefold(): first_int(e["attributes"].get("pwdMaxAge"))
                for e in entries}  # fmt: skip
        ages[""] = first_int(entries[0]["attributes"].get("pwdMaxAge")) if entries else 0
        return ages

    def _max_age_of(self, svc: ldap3.Connection, dn: str) -> int:
        """pwdMaxAge of a user's own policy outside the base; 0 (never) if it cannot be read."""
        with self._reaching("password policy read"):
            svc.search(dn, "(objectClass=pwdPolicy)", ldap3.BASE, attributes=["pwdMaxAge"])
        entries = [r for r in svc.response or [] if r.get("type") == "searchResEntry"]
        if not entries:
            log.warning("domain %s: the password policy %s cannot be read", self.name, dn)
            return 0
        return first_int(entries[0]["attributes"].get("pwdMaxAge"))

    def _password_modify(
        self, conn: ldap3.Connection, dn: str, old: str | None, new: str, *, as_user: bool = True
    ) -> object:
        """The Password Modify operation; `as_user` does it with the user's identity, so
        ppolicy applies the user's rules even when the service account sends it."""
        controls: list[Control] = [ppolicy.REQUEST]
        if as_user:
            controls.append((_PROXIED_AUTHZ, True, f"dn:{dn}".encode()))
        with self._reaching("password modify"):
            try:
                conn.extend.standard.modify_password(
                    user=dn, old_password=old, new_password=new, controls=controls
                )
            except LDAPSASLPrepError:
                # ldap3 will not send a new password with characters SASLprep refuses.
                raise DirectoryError("password_rejected") from None
        return conn.result

    def _rejection(
        self, svc: ldap3.Connection, user: DirectoryUser, result: object, new_password: str
    ) -> DirectoryError:
        # ppolicy names the rule broken: nothing to work out from the policy here.
        del svc, user, new_password
        response = ppolicy.from_result(result)
        code = results.code(result)
        reason = results.directory_reason(results.message(result))
        if response.error in _POLICY_ERRORS:
            return DirectoryError(_POLICY_ERRORS[response.error], reason)
        if code == results.UNWILLING and "old password" in results.message(result).lower():
            return DirectoryError("wrong_password")
        if code == results.CONSTRAINT_VIOLATION:
            return DirectoryError("password_rejected", reason)
        if code == results.AUTHORIZATION_DENIED:
            log.error(
                "domain %s: the service account may not act as the user (proxied "
                "authorization), so ppolicy cannot apply the user's rules to this write; "
                "allow it (olcAuthzPolicy, authzTo: see docs/configuration.md)",
                self.name,
            )
            return DirectoryError(
                "directory_refused", "the service account may not apply the user's password rules"
            )
        return results.unexpected(self.name, "password modify", result)


def _generalized_time(value: str) -> float | None:
    """`20261128083327Z` (ppolicy's format) as epoch seconds."""
    try:
        return float(calendar.timegm(time.strptime(value[:14], "%Y%m%d%H%M%S")))
    except ValueError:
        return None
