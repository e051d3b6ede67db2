"""What both adapters share: the service-account session, finding exactly one user, the
user's own sign-in and change (each adapter says how its directory words them), and the one
place where a failed LDAP call becomes `directory_unreachable`."""

from __future__ import annotations

import abc
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ClassVar

import ldap3
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars

from pwreset.config.schema import DomainConfig
from pwreset.server.directory import results
from pwreset.server.directory.base import DirectoryError, DirectoryUser, PasswordExpiry
from pwreset.server.directory.connection import Connector
from pwreset.server.passwords.directory_rules import DirectoryRules

log = logging.getLogger(__name__)

# A user whose password expires, as an adapter reads it: (logon name, when the password was
# set, when it expires, the entry's attributes).
Expiring = tuple[str, float, float, dict[str, Any]]
# An LDAP modify's changes: attribute -> [(operation, values)].
Changes = dict[str, list[tuple[str, list[bytes | str]]]]
Control = tuple[str, bool, Any]

# Entries per page of a search over every user (paged results, RFC 2696): under AD's
# default MaxPageSize of 1000, so no directory cuts a page short.
PAGE_SIZE = 500
# The key under which `_every_user` hands over each entry's DN (no attribute is named so).
_DN = " dn"

# A full read tells its progress (`seen`) every so many entries.
_SEEN_EVERY = 50
Seen = Callable[[int], None] | None

# How long the directory's password rules are kept before they are read again: every page
# load asks for them (`meta`), an admin's change of the domain policy shows within a minute.
RULES_TTL = 60.0


class LdapDirectory(abc.ABC):
    """Base of the adapters; each says which attributes it reads and how they map."""

    # The attributes `_user_of` reads (besides the e-mail and phone attributes).
    _user_attributes: ClassVar[list[str]]

    # Controls sent with the user's own bind (OpenLDAP asks for the ppolicy response).
    bind_controls: ClassVar[Sequence[Control]] = ()

    def __init__(
        self, domain: DomainConfig, connector: Connector, *, email_attr: str, phone_attr: str
    ) -> None:
        self.name = domain.name
        self._domain = domain
        self._connector = connector
        self._email_attr = email_attr
        self._phone_attr = phone_attr
        self._rules: tuple[float, DirectoryRules] | None = None
        self._rules_lock = threading.Lock()
        self._refreshing = False

    # --- what each adapter says about its directory ------------------------------------------

    @abc.abstractmethod
    def _find(self, svc: ldap3.Connection, username: str) -> DirectoryUser | None:
        """The user the user filter finds for `username`, read into a DirectoryUser."""

    @abc.abstractmethod
    def _user_of(self, dn: str, attrs: dict[str, Any]) -> DirectoryUser:
        """The DirectoryUser of an entry read with `_user_attributes`."""

    @abc.abstractmethod
    def _bind_failure(self, user: DirectoryUser, result: object) -> None:
        """Raise the error of the user's refused bind, or return if the bind still proved
        the password (expired, or must be changed at next logon)."""

    @abc.abstractmethod
    def _change(self, conn: ldap3.Connection, user: DirectoryUser, old: str, new: str) -> object:
        """Send the user's own change (old + new) over `conn`; the LDAP result."""

    @abc.abstractmethod
    def _read_password_rules(self, svc: ldap3.Connection) -> DirectoryRules:
        """The directory's password rules as they are now."""

    @abc.abstractmethod
    def _expiring(self, svc: ldap3.Connection, seen: Seen) -> Iterator[Expiring]:
        """Every enabled user in scope whose password expires (`_every_user`)."""

    @abc.abstractmethod
    def _rejection(
        self, svc: ldap3.Connection, user: DirectoryUser, result: object, new_password: str
    ) -> DirectoryError:
        """The error to tell for a refused password write."""

    # --- the Directory interface, shared ------------------------------------------------------

    def check(self) -> None:
        with self._connector.session():
            pass

    def password_rules(self) -> DirectoryRules:
        # Only the first read waits (the server makes it at start): later ones return what
        # was read and refresh it in the background once stale, so a slow or unreachable
        # directory never holds up a page's `meta`.
        with self._rules_lock:
            cached = self._rules
            stale = cached is not None and time.monotonic() - cached[0] >= RULES_TTL
            refresh = stale and not self._refreshing
            self._refreshing = self._refreshing or refresh
        if cached is None:
            return self._read_rules()
        if refresh:
            threading.Thread(target=self._read_rules, name="password-rules", daemon=True).start()
        return cached[1]

    def _read_rules(self) -> DirectoryRules:
        try:
            with self._connector.session() as svc:
                rules = self._read_password_rules(svc)
        except DirectoryError as exc:
            # None known until the next read; the directory still enforces its rules.
            log.warning("domain %s: password rules not read (%s)", self.name, exc.code)
            rules = DirectoryRules()
        with self._rules_lock:
            self._rules = (time.monotonic(), rules)
            self._refreshing = False
        return rules

    def find_user(self, username: str) -> DirectoryUser | None:
        with self._connector.session() as svc:
            return self._find(svc, username)

    def users(self, seen: Seen = None) -> list[DirectoryUser]:
        with self._connector.session() as svc:
            return [
                self._user_of(attrs[_DN], attrs)
                for attrs in self._every_user(svc, "", self._user_attributes, seen)
            ]

    def user_exists(self, username: str) -> bool:
        return self.find_user(username) is not None

    def password_expiries(self, until: float, seen: Seen = None) -> list[PasswordExpiry]:
        with self._connector.session() as svc:
            return [
                PasswordExpiry(
                    username=username,
                    email=first(attrs.get(self._email_attr)),
                    phone=first(attrs.get(self._phone_attr)),
                    password_set=password_set,
                    expires=expires,
                )
                for username, password_set, expires, attrs in self._expiring(svc, seen)
                if expires < until
            ]

    def authenticate(self, username: str, password: str) -> DirectoryUser:
        with self._connector.session() as svc:
            user = self._require(svc, username)
            with self._connector.user_session(user.dn, password, self.bind_controls) as conn:
                if not conn.bound:
                    self._bind_failure(user, conn.result)
            return user

    def change_password(self, username: str, old_password: str, new_password: str) -> None:
        with self._connector.session() as svc:
            user = self._require(svc, username)
            with self._connector.user_session(user.dn, old_password, self.bind_controls) as conn:
                if conn.bound:
                    result = self._change(conn, user, old_password, new_password)
                else:
                    self._bind_failure(user, conn.result)
                    # The bind proved the old password but the user may not sign in: the
                    # service account sends the user's own change (old + new), so the
                    # directory still checks the old password and its policy.
                    result = self._change(svc, user, old_password, new_password)
            if results.code(result) != results.SUCCESS:
                raise self._rejection(svc, user, result, new_password)

    # --- helpers for the adapters -------------------------------------------------------------

    @contextlib.contextmanager
    def _reaching(self, what: str) -> Iterator[None]:
        """Run one LDAP call: if it fails (a dropped connection, a timeout) the user hears
        directory_unreachable and the log names the step, by exception type only (its text
        can quote what was sent)."""
        try:
            yield
        except LDAPException as exc:
            log.error("domain %s: %s failed: %s", self.name, what, type(exc).__name__)
            raise DirectoryError("directory_unreachable") from None

    def _entries(
        self, svc: ldap3.Connection, what: str, flt: str, attributes: list[str], **options: Any
    ) -> list[dict[str, Any]]:
        """The entries a search under the domain's base finds. AD adds referrals
        (searchResRef) to searches at the domain root: they are skipped, never followed."""
        with self._reaching(what):
            svc.search(self._domain.base_dn, flt, attributes=attributes, **options)
        if results.code(svc.result) == results.REFERRAL:
            # Never followed (see connection.py): the base_dn is probably held elsewhere.
            log.warning(
                "domain %s: the %s was answered with a referral, not followed: %s",
                self.name,
                what,
                (svc.result or {}).get("referrals"),
            )
        return [r for r in svc.response or [] if r.get("type") == "searchResEntry"]

    def _every_user(
        self, svc: ldap3.Connection, flt: str, attributes: list[str], seen: Seen
    ) -> Iterator[dict[str, Any]]:
        """The attributes of each user in scope (under base_dn, matching the user filter
        with any name) that also matches `flt`, page by page, so a directory of any size is
        read without hitting its size limit. The entry's DN is under the key `_DN`."""
        scope = self._domain.effective_user_filter().replace("{username}", "*")
        pages = svc.extend.standard.paged_search(
            self._domain.base_dn,
            f"(&{scope}{flt})",
            search_scope=ldap3.SUBTREE,
            attributes=[*attributes, self._email_attr, self._phone_attr],
            paged_size=PAGE_SIZE,
            generator=True,
        )
        with self._reaching("search of every user"):
            for count, entry in enumerate(pages, 1):
                if seen is not None and count % _SEEN_EVERY == 0:
                    seen(count)
                if entry.get("type") == "searchResEntry":
                    yield {**(entry.get("attributes") or {}), _DN: str(entry.get("dn", ""))}

    def _modify(
        self,
        conn: ldap3.Connection,
        dn: str,
        changes: Changes,
        what: str,
        controls: list[Control] | None = None,
    ) -> object:
        """Send a modify; its LDAP result, for the caller to judge."""
        with self._reaching(what):
            conn.modify(dn, changes, controls=controls)
        return conn.result

    def _write(self, conn: ldap3.Connection, dn: str, changes: Changes, what: str) -> None:
        """A modify that must succeed: any other result is unexpected."""
        result = self._modify(conn, dn, changes, what)
        if results.code(result) != results.SUCCESS:
            raise results.unexpected(self.name, what, result)

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
        entries = self._entries(
            svc,
            "user search",
            flt,
            [*attributes, self._email_attr, self._phone_attr],
            search_scope=ldap3.SUBTREE,
            size_limit=2,
        )
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


def first_int(value: object) -> int:
    """The first value of an integer attribute; 0 when absent or not a number."""
    try:
        return int(first(value) or 0)
    except ValueError:
        return 0
