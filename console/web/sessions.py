"""The web console's sessions and sign-in throttle, kept in the console's memory.

A session id is 32 random bytes, only ever in a Secure/HttpOnly/SameSite=Strict cookie; the
session holds who signed in, their roles and the synchronizer token every POST must carry.
It ends after `idle_minutes` without a request and `session_hours` after sign-in, whatever
happens. The clock is injected so tests can move it.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pwreset.config.console_settings import ConsoleSettings
from pwreset.console.web.messages import DEFAULT

Clock = Callable[[], float]
ADMIN = "admin"
HELPDESK = "helpdesk"


@dataclass
class Session:
    id: str
    username: str  # as the directory spells it
    domain: str
    display_name: str
    roles: frozenset[str]
    started: float
    seen: float
    language: str  # the pages' language (the switcher changes it)
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    # The help desk's open cases by (domain, user), casefolded: the server's last answer,
    # its sealed case token included (kept here, never sent to the browser).
    cases: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    @property
    def admin_name(self) -> str:
        """Who the audit says did it."""
        return f"console:{self.domain}\\{self.username}"

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.roles

    def csrf_ok(self, given: str) -> bool:
        return hmac.compare_digest(self.csrf.encode(), given.encode())


class Sessions:
    def __init__(self, settings: ConsoleSettings, clock: Clock) -> None:
        self._idle = settings.idle_minutes * 60
        self._lifetime = settings.session_hours * 3600
        self._clock = clock
        self._by_id: dict[str, Session] = {}
        self._lock = threading.Lock()

    def start(
        self,
        username: str,
        domain: str,
        display_name: str,
        roles: frozenset[str],
        language: str = DEFAULT,
    ) -> Session:
        now = self._clock()
        session = Session(
            secrets.token_urlsafe(32), username, domain, display_name, roles, now, now, language
        )
        with self._lock:
            self._forget_expired(now)
            self._by_id[session.id] = session
        return session

    def find(self, session_id: str | None) -> Session | None:
        """The live session, its idle clock restarted; None if unknown or expired."""
        if not session_id:
            return None
        now = self._clock()
        with self._lock:
            session = self._by_id.get(session_id)
            if session is None:
                return None
            if self._expired(session, now):
                del self._by_id[session_id]
                return None
            session.seen = now
            return session

    def end(self, session_id: str) -> None:
        with self._lock:
            self._by_id.pop(session_id, None)

    def _expired(self, session: Session, now: float) -> bool:
        return now - session.seen > self._idle or now - session.started > self._lifetime

    def _forget_expired(self, now: float) -> None:
        for key in [k for k, s in self._by_id.items() if self._expired(s, now)]:
            del self._by_id[key]


class SigninThrottle:
    """Failed sign-ins per account and per address in a sliding window. Checked before the
    bind: past the limit the console refuses without asking the directory."""

    def __init__(self, settings: ConsoleSettings, clock: Clock) -> None:
        self._window = settings.signin_window_minutes * 60
        self._limits = {
            "account": settings.signin_failures_per_account,
            "address": settings.signin_failures_per_address,
        }
        self._clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._reported: dict[tuple[str, str], float] = {}  # when a key's refusal was audited
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and now - times[0] > self._window:
            times.popleft()
        return times

    def allowed(self, account: str, address: str) -> bool:
        now = self._clock()
        with self._lock:
            return not self._blocking(account, address, now)

    def first_refusal(self, account: str, address: str) -> bool:
        """Whether a refusal that `allowed` just gave is the first one of a key that blocks
        it in this window. Only those are audited: a flood past the limit writes one row
        per key and window, not one per attempt."""
        now = self._clock()
        with self._lock:
            first = False
            for key in self._blocking(account, address, now):
                if now - self._reported.get(key, -self._window - 1) > self._window:
                    self._reported[key] = now
                    first = True
            return first

    def _blocking(self, account: str, address: str, now: float) -> list[tuple[str, str]]:
        keys = (("account", account.casefold()), ("address", address))
        return [key for key in keys if len(self._recent(key, now)) >= self._limits[key[0]]]

    def failed(self, account: str, address: str) -> None:
        now = self._clock()
        with self._lock:
            for key in (("account", account.casefold()), ("address", address)):
                self._recent(key, now).append(now)
            if len(self._failures) > self.MAX_KEYS:
                self._forget_old(now)

    # Names an attacker types are keys too: past this many, the ones whose failures have all
    # run out of the window are forgotten, so the table holds only the window's failures.
    MAX_KEYS = 10_000

    def _forget_old(self, now: float) -> None:
        for key in list(self._failures):
            if not self._recent(key, now):
                del self._failures[key]
        for key, when in list(self._reported.items()):
            if now - when > self._window:
                del self._reported[key]

    def __len__(self) -> int:
        return len(self._failures)
