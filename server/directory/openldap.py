"""OpenLDAP with the ppolicy overlay: the Password Modify extended operation, and the
ppolicy attributes for lockout (`pwdAccountLockedTime`) and must-change (`pwdReset`)."""

from __future__ import annotations

import calendar
import logging
import time
from collections.abc import Sequence

import ldap3
from ldap3.core.exceptions import LDAPException, LDAPSASLPrepError
from ldap3.utils.conv import escape_filter_chars

from pwreset.server.directory import ppolicy, results
from pwreset.server.directory.base import DirectoryError, DirectoryUser
from pwreset.server.directory.connection import close
from pwreset.server.directory.ldap_base import LdapDirectory, first, unexpected

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


class OpenLdap(LdapDirectory):
    def _find(self, svc: ldap3.Connection, username: str) -> DirectoryUser | None:
        name = username.strip()
        found = self._search_one(svc, name, ["uid", "pwdAccountLockedTime", "pwdChangedTime"])
        if found is None:
            return None
        dn, attrs = found
        locked_time = first(attrs.get("pwdAccountLockedTime"))
        return DirectoryUser(
            dn=dn,
            username=first(attrs.get("uid")) or name,
            disabled=locked_time == _ADMIN_LOCK,
            locked=bool(locked_time) and locked_time != _ADMIN_LOCK,
            password_set=_generalized_time(first(attrs.get("pwdChangedTime"))),
            email=first(attrs.get(self._email_attr)),
            phone=first(attrs.get(self._phone_attr)),
        )

    def authenticate(self, username: str, password: str) -> DirectoryUser:
        with self._connector.session() as svc:
            user = self._require(svc, username)
            conn = self._connector.bind(user.dn, password, [ppolicy.REQUEST])
            try:
                if not conn.bound:
                    self._bind_failure(user, conn.result, allow_expired=True)
            finally:
                close(conn)
            return user

    def _bind_failure(self, user: DirectoryUser, result: object, *, allow_expired: bool) -> None:
        """Raise the error of a failed user bind; return if it failed only because the
        (right) password expired and that is allowed."""
        response = ppolicy.from_result(result)
        if response.error == "passwordExpired" and allow_expired:
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
        raise unexpected(self.name, "bind", result)

    def change_password(self, username: str, old_password: str, new_password: str) -> None:
        with self._connector.session() as svc:
            user = self._require(svc, username)
            conn = self._connector.bind(user.dn, old_password, [ppolicy.REQUEST])
            try:
                if conn.bound:
                    # Also covers pwdReset (changeAfterReset): the bound user may still
                    # use the Password Modify operation.
                    result = self._password_modify(conn, user.dn, old_password, new_password)
                else:
                    self._bind_failure(user, conn.result, allow_expired=True)
                    # The bind proved the old password but the user may not sign in; the
                    # service account sends the change with the old password, so the
                    # policy still applies.
                    result = self._password_modify(svc, user.dn, old_password, new_password)
            finally:
                close(conn)
            if results.code(result) != results.SUCCESS:
                raise _rejection(self.name, result)

    def reset_password(
        self, user: DirectoryUser, new_password: str, *, must_change: bool, enforce_history: bool
    ) -> None:
        # With `write` (not `manage`) on userPassword the service account is an ordinary
        # user to ppolicy, so quality, history and minimum age always apply to resets;
        # `enforce_history` has nothing left to switch on here.
        del enforce_history
        with self._connector.session() as svc:
            result = self._password_modify(svc, user.dn, None, new_password)
            if results.code(result) != results.SUCCESS:
                raise _rejection(self.name, result)
            changes: dict[str, list[tuple[str, list[str]]]] = {
                "pwdReset": [(ldap3.MODIFY_REPLACE, ["TRUE"] if must_change else [])]
            }
            if user.locked:
                changes["pwdAccountLockedTime"] = [(ldap3.MODIFY_REPLACE, [])]
            self._modify(svc, user.dn, changes, "reset")

    def unlock(self, user: DirectoryUser) -> None:
        if user.disabled:
            raise DirectoryError("account_disabled")
        with self._connector.session() as svc:
            # REPLACE with no values removes the attribute and is fine when it is absent;
            # the overlay also forgets the failure times.
            self._modify(
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
                try:
                    svc.search(self._domain.base_dn, flt, attributes=["cn"])
                except LDAPException as exc:
                    log.error("domain %s: group search failed: %s", self.name, type(exc).__name__)
                    raise DirectoryError("directory_unreachable") from None
                frontier = []
                for entry in svc.response or []:
                    if entry.get("type") != "searchResEntry":
                        continue
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
        # slapd enforces pwdMinAge on the service account's resets itself (see above).
        return 0.0

    def _password_modify(
        self, conn: ldap3.Connection, dn: str, old: str | None, new: str
    ) -> object:
        try:
            conn.extend.standard.modify_password(
                user=dn, old_password=old, new_password=new, controls=[ppolicy.REQUEST]
            )
        except LDAPSASLPrepError:
            # ldap3 will not send a new password with characters SASLprep refuses.
            raise DirectoryError("password_rejected") from None
        except LDAPException as exc:
            log.error("domain %s: password modify failed: %s", self.name, type(exc).__name__)
            raise DirectoryError("directory_unreachable") from None
        return conn.result

    def _modify(
        self,
        conn: ldap3.Connection,
        dn: str,
        changes: dict[str, list[tuple[str, list[str]]]],
        what: str,
    ) -> None:
        try:
            conn.modify(dn, changes)
        except LDAPException as exc:
            log.error("domain %s: %s failed: %s", self.name, what, type(exc).__name__)
            raise DirectoryError("directory_unreachable") from None
        if results.code(conn.result) != results.SUCCESS:
            raise unexpected(self.name, what, conn.result)


def _rejection(domain: str, result: object) -> DirectoryError:
    response = ppolicy.from_result(result)
    code = results.code(result)
    reason = results.directory_reason(results.message(result))
    if response.error in _POLICY_ERRORS:
        return DirectoryError(_POLICY_ERRORS[response.error], reason)
    if code == results.UNWILLING and "old password" in results.message(result).lower():
        return DirectoryError("wrong_password")
    if code == results.CONSTRAINT_VIOLATION:
        return DirectoryError("password_rejected", reason)
    return unexpected(domain, "password modify", result)


def _generalized_time(value: str) -> float | None:
    """`20261128083327Z` (ppolicy's format) as epoch seconds."""
    try:
        return float(calendar.timegm(time.strptime(value[:14], "%Y%m%d%H%M%S")))
    except ValueError:
        return None
