"""Active Directory (and Samba AD): changes through `unicodePwd` over LDAPS."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import ldap3
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars
from pwreset.server.directory import results
from pwreset.server.directory.base import DirectoryError
from pwreset.server.directory.connection import Connector, close
from pwreset.server.directory.policy import AdPolicy, diagnose_rejection

from pwreset.config.schema import DomainConfig

log = logging.getLogger(__name__)

# Bind "data" sub-codes that still prove the old password: the user may not sign in, but
# may change the password (LTB's change_expired_password does the same).
_MAY_CHANGE = {"773", "532"}  # must change at next logon, password expired
_BIND_ERRORS = {
    "52e": "wrong_password",
    "525": "wrong_password",  # no such user: reported like a wrong password
    "775": "account_locked",
    "533": "account_disabled",
    "701": "account_disabled",  # account expired
    "530": "not_permitted",  # logon hours
    "531": "not_permitted",  # workstation restriction
}


@dataclass(frozen=True)
class _User:
    dn: str
    sam: str


def _quoted(password: str) -> bytes:
    return f'"{password}"'.encode("utf-16-le")


class ActiveDirectory:
    def __init__(self, domain: DomainConfig, connector: Connector) -> None:
        self.name = domain.name
        self._domain = domain
        self._connector = connector

    def check(self) -> None:
        with self._connector.session():
            pass

    def change_password(self, username: str, old_password: str, new_password: str) -> None:
        with self._connector.session() as svc:
            user = self._find(svc, username)
            if user is None:
                raise DirectoryError("wrong_password")
            conn = self._connector.bind(user.dn, old_password)
            try:
                if conn.bound:
                    result = self._change(conn, user, old_password, new_password)
                else:
                    data = results.ad_bind_data(conn.result)
                    if results.code(conn.result) != results.INVALID_CREDENTIALS:
                        raise _unexpected(self.name, "bind", conn.result)
                    if data not in _MAY_CHANGE:
                        raise DirectoryError(_BIND_ERRORS.get(data or "", "wrong_password"))
                    # The user cannot bind, so the service account sends the user's own
                    # change (old + new): AD still checks the old password and the policy.
                    result = self._change(svc, user, old_password, new_password)
            finally:
                close(conn)
            if results.code(result) != results.SUCCESS:
                raise self._rejection(svc, user, result, new_password)

    def _find(self, svc: ldap3.Connection, username: str) -> _User | None:
        name = username.strip()
        # DOMAIN\user and user@domain are accepted; the filter matches either form.
        if "\\" in name:
            name = name.split("\\", 1)[1]
        flt = self._domain.effective_user_filter().replace("{username}", escape_filter_chars(name))
        try:
            svc.search(
                self._domain.base_dn,
                flt,
                search_scope=ldap3.SUBTREE,
                attributes=["sAMAccountName"],
                size_limit=2,
            )
        except LDAPException as exc:
            log.error("domain %s: user search failed: %s", self.name, exc)
            raise DirectoryError("directory_unreachable") from None
        # Searches at the domain root also return referrals (searchResRef): skip them.
        entries = [r for r in svc.response or [] if r.get("type") == "searchResEntry"]
        if len(entries) != 1:
            if len(entries) > 1:
                log.warning("domain %s: the user filter matched several entries", self.name)
            return None
        attrs = entries[0].get("attributes") or {}
        sam = attrs.get("sAMAccountName")
        if isinstance(sam, list):
            sam = sam[0] if sam else ""
        return _User(dn=str(entries[0]["dn"]), sam=str(sam or name))

    def _change(self, conn: ldap3.Connection, user: _User, old: str, new: str) -> object:
        try:
            conn.modify(
                user.dn,
                {
                    "unicodePwd": [
                        (ldap3.MODIFY_DELETE, [_quoted(old)]),
                        (ldap3.MODIFY_ADD, [_quoted(new)]),
                    ]
                },
            )
        except LDAPException as exc:
            log.error("domain %s: password change failed: %s", self.name, type(exc).__name__)
            raise DirectoryError("directory_unreachable") from None
        return conn.result

    def _rejection(
        self, svc: ldap3.Connection, user: _User, result: object, new_password: str
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
            policy = AdPolicy.read(svc, self._domain.base_dn)
            guess, explanation = diagnose_rejection(policy, new_password, user.sam, time.time())
            return DirectoryError(guess, reason or explanation)
        if code == results.UNWILLING:
            return DirectoryError(
                "directory_refused", "the directory requires an encrypted connection"
            )
        raise _unexpected(self.name, "modify", result)


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


def _unexpected(domain: str, operation: str, result: object) -> DirectoryError:
    log.error(
        "domain %s: unexpected %s result %s %s",
        domain,
        operation,
        results.code(result),
        results.message(result)[:200],
    )
    return DirectoryError("directory_refused", results.directory_reason(results.message(result)))
