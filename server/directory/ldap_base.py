"""What both adapters share: the service-account session, finding exactly one user, and
turning an unexpected result into an error the user can be shown."""

from __future__ import annotations

import logging
from typing import Any

import ldap3
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars

from pwreset.config.schema import DomainConfig
from pwreset.server.directory import results
from pwreset.server.directory.base import DirectoryError, DirectoryUser
from pwreset.server.directory.connection import Connector

log = logging.getLogger(__name__)


class LdapDirectory:
    """Base of the adapters; each says which attributes it reads and how they map."""

    def __init__(
        self, domain: DomainConfig, connector: Connector, *, email_attr: str, phone_attr: str
    ) -> None:
        self.name = domain.name
        self._domain = domain
        self._connector = connector
        self._email_attr = email_attr
        self._phone_attr = phone_attr

    def check(self) -> None:
        with self._connector.session():
            pass

    def find_user(self, username: str) -> DirectoryUser | None:
        with self._connector.session() as svc:
            return self._find(svc, username)

    def user_exists(self, username: str) -> bool:
        return self.find_user(username) is not None

    def _find(self, svc: ldap3.Connection, username: str) -> DirectoryUser | None:
        raise NotImplementedError

    def _require(self, svc: ldap3.Connection, username: str) -> DirectoryUser:
        user = self._find(svc, username)
        if user is None:
            # Reported like a wrong password, so nobody learns who exists.
            raise DirectoryError("wrong_password")
        return user

    def _search_one(
        self, svc: ldap3.Connection, name: str, attributes: list[str]
    ) -> tuple[str, dict[str, Any]] | None:
        """(dn, attributes) of the one entry the user filter finds for `name`, or None."""
        if not name:
            return None
        flt = self._domain.effective_user_filter().replace("{username}", escape_filter_chars(name))
        try:
            svc.search(
                self._domain.base_dn,
                flt,
                search_scope=ldap3.SUBTREE,
                attributes=[*attributes, self._email_attr, self._phone_attr],
                size_limit=2,
            )
        except LDAPException as exc:
            log.error("domain %s: user search failed: %s", self.name, type(exc).__name__)
            raise DirectoryError("directory_unreachable") from None
        if results.code(svc.result) == results.REFERRAL:
            # Never followed (see connection.py): the base_dn is probably held elsewhere.
            log.warning(
                "domain %s: the user search was answered with a referral, not followed: %s",
                self.name,
                (svc.result or {}).get("referrals"),
            )
        # AD adds referrals (searchResRef) to searches at the domain root: skip them.
        entries = [r for r in svc.response or [] if r.get("type") == "searchResEntry"]
        if len(entries) != 1:
            if len(entries) > 1:
                log.warning("domain %s: the user filter matched several entries", self.name)
            return None
        return str(entries[0]["dn"]), dict(entries[0].get("attributes") or {})


def first(value: object) -> str:
    """The first value of an attribute as ldap3 returns it (a list or a single value)."""
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value or "")


def unexpected(domain: str, operation: str, result: object) -> DirectoryError:
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
