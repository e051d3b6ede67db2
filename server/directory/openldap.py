"""OpenLDAP with the ppolicy overlay: changes through the Password Modify extended operation."""

from __future__ import annotations

import logging

import ldap3
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars
from pwreset.server.directory import ppolicy, results
from pwreset.server.directory.base import DirectoryError
from pwreset.server.directory.connection import Connector, close

from pwreset.config.schema import DomainConfig

log = logging.getLogger(__name__)

# pwdAccountLockedTime set to this value locks the account until an admin removes it:
# the ppolicy way of disabling an account.
_ADMIN_LOCK = "000001010000Z"

_POLICY_ERRORS = {
    "passwordTooShort": "password_too_short",
    "passwordInHistory": "password_in_history",
    "insufficientPasswordQuality": "password_complexity",
    "passwordTooYoung": "password_too_young",
    "passwordTooLong": "password_rejected",
    "passwordModNotAllowed": "not_permitted",
    "mustSupplyOldPassword": "wrong_password",
}


class OpenLdap:
    def __init__(self, domain: DomainConfig, connector: Connector) -> None:
        self.name = domain.name
        self._domain = domain
        self._connector = connector

    def check(self) -> None:
        with self._connector.session():
            pass

    def change_password(self, username: str, old_password: str, new_password: str) -> None:
        with self._connector.session() as svc:
            found = self._find(svc, username)
            if found is None:
                raise DirectoryError("wrong_password")
            dn, locked_time = found
            conn = self._connector.bind(dn, old_password, [ppolicy.REQUEST])
            try:
                response = ppolicy.from_result(conn.result)
                if conn.bound:
                    # Also covers pwdReset (changeAfterReset): the bound user may still
                    # use the Password Modify operation.
                    result = self._modify(conn, dn, old_password, new_password)
                elif response.error == "passwordExpired":
                    # The bind proved the old password but the user may not sign in; the
                    # service account sends the change with the old password, so the
                    # policy still applies.
                    result = self._modify(svc, dn, old_password, new_password)
                elif response.error == "accountLocked":
                    raise DirectoryError(
                        "account_disabled" if locked_time == _ADMIN_LOCK else "account_locked"
                    )
                elif results.code(conn.result) == results.INVALID_CREDENTIALS:
                    raise DirectoryError("wrong_password")
                else:
                    raise _unexpected(self.name, "bind", conn.result)
            finally:
                close(conn)
            if results.code(result) != results.SUCCESS:
                raise _rejection(self.name, result)

    def _find(self, svc: ldap3.Connection, username: str) -> tuple[str, str] | None:
        flt = self._domain.effective_user_filter().replace(
            "{username}", escape_filter_chars(username.strip())
        )
        try:
            svc.search(
                self._domain.base_dn,
                flt,
                search_scope=ldap3.SUBTREE,
                attributes=["pwdAccountLockedTime"],
                size_limit=2,
            )
        except LDAPException as exc:
            log.error("domain %s: user search failed: %s", self.name, type(exc).__name__)
            raise DirectoryError("directory_unreachable") from None
        entries = [r for r in svc.response or [] if r.get("type") == "searchResEntry"]
        if len(entries) != 1:
            if len(entries) > 1:
                log.warning("domain %s: the user filter matched several entries", self.name)
            return None
        locked = (entries[0].get("attributes") or {}).get("pwdAccountLockedTime") or ""
        if isinstance(locked, list):
            locked = locked[0] if locked else ""
        return str(entries[0]["dn"]), str(locked)

    def _modify(self, conn: ldap3.Connection, dn: str, old: str, new: str) -> object:
        try:
            conn.extend.standard.modify_password(
                user=dn, old_password=old, new_password=new, controls=[ppolicy.REQUEST]
            )
        except LDAPException as exc:
            log.error("domain %s: password change failed: %s", self.name, type(exc).__name__)
            raise DirectoryError("directory_unreachable") from None
        return conn.result


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
    return _unexpected(domain, "password modify", result)


def _unexpected(domain: str, operation: str, result: object) -> DirectoryError:
    log.error(
        "domain %s: unexpected %s result %s %s",
        domain,
        operation,
        results.code(result),
        results.message(result)[:200],
    )
    if results.code(result) == results.INSUFFICIENT_ACCESS:
        return DirectoryError("directory_refused", "the service account lacks a right")
    return DirectoryError("directory_refused", results.directory_reason(results.message(result)))
