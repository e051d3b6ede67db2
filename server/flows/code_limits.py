"""How often codes are sent (security review 9): a cooldown and a daily cap per user and
per destination, kept in the store's keyed records so they hold across relays and restarts
without naming anybody (users and addresses are filed under an HMAC of the data key).

A start while the user's code is live and the cooldown runs re-shows the code step and
sends nothing: the code already sent works for the new flow too. Once the cooldown is over
a new start sends a new code (the old one stops working). When a limit bites, the flow gets
a code nobody is sent, so the reply and everything after it look as for anybody else:
a limit never tells who exists. Decoys go through the same steps with their own record.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pwreset.config.flow_settings import VerificationSettings
from pwreset.server.flows import codes
from pwreset.server.storage.keyed import KeyedStore
from pwreset.server.storage.users import user_key

DAY = 86400.0


@dataclass(frozen=True)
class Destination:
    """Where a code goes; "decoy" stands for an unknown user's: never sent, never limited."""

    channel: Literal["email", "sms", "decoy"]
    address: str


DECOY = Destination("decoy", "")


@dataclass
class Issue:
    """What a start gets: the code record to store, and, when a new code is to be sent,
    the code and the destinations it may go to (empty: a code nobody is sent)."""

    record: dict[str, Any]
    code: str | None = None
    send_to: list[Destination] = field(default_factory=list)
    reused: bool = False


class SendLimits:
    def __init__(self, data_key: bytes) -> None:
        self._key = hmac.new(data_key, b"pwreset send limits v1", hashlib.sha256).digest()

    def _id(self, *parts: str) -> str:
        return hmac.new(self._key, "\0".join(parts).encode("utf-8"), hashlib.sha256).hexdigest()

    def user_id(self, domain: str, username: str) -> str:
        return "u:" + self._id("user", user_key(domain, username.strip()))

    def destination_id(self, destination: Destination) -> str:
        if destination.channel == "sms":
            value = "".join(c for c in destination.address if c.isdigit() or c == "+")
        else:
            value = destination.address.strip().casefold()
        return "d:" + self._id(destination.channel, value)

    def issue(
        self,
        store: KeyedStore,
        settings: VerificationSettings,
        user_id: str,
        current: dict[str, Any] | None,
        wanted: Sequence[Destination],
        flow_id: str,
        now: float,
    ) -> Issue:
        """Decide, and record, what a start that reaches the code step gets. Hold the
        user's lock around this and the saving of `Issue.record`."""
        # Made before deciding: the same work whether a code is sent, kept or withheld.
        code = codes.new_code(settings)
        fresh = codes.code_record(code, flow_id, now)
        with store.locked():
            user_sent = _recent(store.get(user_id), now)
            live = current if current is not None and codes.live(current, settings, now) else None
            cooling = _cooling(user_sent, settings, now)
            if live is not None and cooling:
                return _reuse(live, flow_id)
            allowed: list[Destination] = []
            if not cooling and not _capped(user_sent, settings.max_codes_per_day):
                cap = settings.max_codes_per_destination_per_day
                for destination in wanted:
                    if destination.channel == "decoy":
                        allowed.append(destination)
                        continue
                    sent = _recent(store.get(self.destination_id(destination)), now)
                    if not _cooling(sent, settings, now) and not _capped(sent, cap):
                        allowed.append(destination)
            if not allowed:
                return _reuse(live, flow_id) if live is not None else Issue(fresh)
            _note(store, user_id, [*user_sent, now], now)
            for destination in allowed:
                if destination.channel != "decoy":
                    key = self.destination_id(destination)
                    _note(store, key, [*_recent(store.get(key), now), now], now)
            return Issue(fresh, code, allowed)

    def issue_decoy(
        self,
        store: KeyedStore,
        settings: VerificationSettings,
        domain: str,
        username: str,
        flow_id: str,
        now: float,
    ) -> None:
        """The same for an unknown name: its code (one nobody is sent) is kept in its keyed
        record. Hold the user's lock for (domain, username)."""
        user_id = self.user_id(domain, username)
        issue = self.issue(store, settings, user_id, _decoy_code(store, user_id), [DECOY],
                           flow_id, now)  # fmt: skip
        _keep_decoy_code(store, user_id, issue.record, now)

    def try_decoy(
        self,
        store: KeyedStore,
        settings: VerificationSettings,
        domain: str,
        username: str,
        typed: str,
        flow_id: str,
        now: float,
    ) -> codes.Verdict:
        """A code typed for an unknown name: wrong, counted like a real user's, until the
        decoy code is dead. Hold the user's lock for (domain, username)."""
        user_id = self.user_id(domain, username)
        record = _decoy_code(store, user_id)
        verdict = codes.attempt(record, typed, flow_id, settings, never_right=True)
        if record is not None:
            _keep_decoy_code(store, user_id, record, now)
        return verdict

    def withdraw(self, store: KeyedStore, user_id: str, issue: Issue, now: float) -> None:
        """Forget the sends of an issue none of whose messages went out."""
        keys = [user_id] + [self.destination_id(d) for d in issue.send_to if d != DECOY]
        with store.locked():
            for key in keys:
                sent = _recent(store.get(key), now)
                if now in sent:
                    sent.remove(now)
                    _note(store, key, sent, now)


def _reuse(current: dict[str, Any], flow_id: str) -> Issue:
    codes.bind(current, flow_id)
    return Issue(current, reused=True)


def _decoy_code(store: KeyedStore, user_id: str) -> dict[str, Any] | None:
    code = (store.get(user_id) or {}).get("code")
    return code if isinstance(code, dict) else None


def _keep_decoy_code(store: KeyedStore, user_id: str, record: dict[str, Any], now: float) -> None:
    with store.locked():
        doc = store.get(user_id) or {}
        doc.update(code=record, touched=now)
        store.put(user_id, doc)


def _recent(doc: dict[str, Any] | None, now: float) -> list[float]:
    sent = (doc or {}).get("sent", [])
    return [float(t) for t in sent if isinstance(t, int | float) and now - t < DAY]


def _cooling(sent: list[float], settings: VerificationSettings, now: float) -> bool:
    # A parallel request may have sent after this one read its clock (now - max < 0): that
    # send is recent, unless there is no cooldown at all.
    return settings.code_cooldown > 0 and bool(sent) and now - max(sent) < settings.code_cooldown


def _capped(sent: list[float], cap: int) -> bool:
    return cap > 0 and len(sent) >= cap


def _note(store: KeyedStore, key: str, sent: list[float], now: float) -> None:
    doc = store.get(key) or {}
    doc.update(sent=sent, touched=now)
    store.put(key, doc)
