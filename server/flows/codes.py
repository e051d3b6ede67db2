"""Verification codes: random, single use, expiring, stored only as a hash, dead after a
few wrong tries (security review 3), and sent within limits (security review 9).

A code record is a small dict: the hash, the flows that may submit it (the one it was sent
for and the ones that re-showed it while it was live), when it was issued, the wrong tries
so far, and whether it is dead. Decoy users get the same records (for a code nobody is
sent), so their replies follow the same sequence.

How often codes are sent: a cooldown and a daily cap per user and per destination, kept in
the store's keyed records so they hold across relays and restarts without naming anybody
(users and addresses are filed under an HMAC of the data key). A start while the user's code
is live and the cooldown runs re-shows the code step and sends nothing: the code already sent
works for the new flow too. Once the cooldown is over a new start sends a new code (the old
one stops working). When a limit bites, the flow gets a code nobody is sent, so the reply and
everything after it look as for anybody else: a limit never tells who exists. Decoys go
through the same steps with their own record.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pwreset.config.flow_settings import VerificationSettings
from pwreset.server.directory.base import DirectoryUser
from pwreset.server.flows.questions import hash_secret, verify_secret
from pwreset.server.flows.sweeping import BackgroundSweep
from pwreset.server.flows.tokens import FlowState
from pwreset.server.notify import NotifyError, mask_email, mask_phone
from pwreset.server.storage import KeyedRecords, UserRecord
from pwreset.server.storage.users import user_key

if TYPE_CHECKING:  # the step imports the limits this module holds
    from pwreset.server.flows.context import Step

_ALPHABET = {
    "numeric": string.digits,
    # No 0/O, 1/I/L: codes are read off a phone and typed by hand.
    "alphanumeric": "23456789ABCDEFGHJKMNPQRSTUVWXYZ",
}
# Codes live minutes at most and attempts are capped, so a lighter hash than answers'.
_CODE_PARAMS = {"m": 8192, "t": 1, "p": 1}
# Flows remembered per code: a few starts while one code is live (a user's tabs, retries).
_MAX_FLOWS = 8

Verdict = Literal["right", "wrong", "dead"]


def new_code(settings: VerificationSettings) -> str:
    alphabet = _ALPHABET[settings.charset]
    return "".join(secrets.choice(alphabet) for _ in range(settings.length))


def code_record(code: str, flow_id: str, now: float) -> dict[str, Any]:
    return {
        "hash": hash_secret(_canonical(code), _CODE_PARAMS),
        "flows": [flow_id],
        "issued": now,
        "tries": 0,
    }


def flows_of(record: dict[str, Any]) -> list[str]:
    # Records written before codes were shared between flows name one "flow".
    return list(record.get("flows") or [record.get("flow")])


def bind(record: dict[str, Any], flow_id: str) -> None:
    """Let `flow_id` submit this live code too (a new start while it is live)."""
    record["flows"] = [*flows_of(record), flow_id][-_MAX_FLOWS:]


def live(record: dict[str, Any], settings: VerificationSettings, now: float) -> bool:
    return not record.get("dead") and not expired(record, settings, now)


def attempt(
    record: dict[str, Any] | None,
    typed: str,
    flow_id: str,
    settings: VerificationSettings,
    *,
    never_right: bool = False,
) -> Verdict:
    """Try `typed` against the code of this flow, counting a wrong try into `record` (save
    it after, under the user's lock). Only a flow the code was sent or shown for can submit
    it; an earlier, replaced code never counts. The try that reaches `max_code_attempts`
    kills the code, and so does every later one. A decoy's code is `never_right`."""
    if not record or flow_id not in flows_of(record):
        return "wrong"
    if record.get("dead"):
        return "dead"
    if verify_secret(_canonical(typed), record["hash"]) and not never_right:
        return "right"
    record["tries"] = int(record.get("tries", 0)) + 1
    if record["tries"] >= settings.max_code_attempts:
        record["dead"] = True
        return "dead"
    return "wrong"


def expired(record: dict[str, Any], settings: VerificationSettings, now: float) -> bool:
    if settings.expiry_minutes == 0:
        return False
    return now - float(record.get("issued", 0)) > settings.expiry_minutes * 60


def _canonical(code: str) -> str:
    return "".join(code.split()).upper()


# --- how often codes are sent -------------------------------------------------------------------

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


# Made-up names' code records (~300 bytes each in memory): past this many, a sweep beside the
# requests drops the least recently used down to _SWEEP_TO of it, but never one that could
# still be seen (`observable_for`): the table holds this many plus what a flood adds in that
# time. Real users' send counts never go.
MAX_DECOY_CODES = 100_000
_SWEEP_TO = 0.9
# Added to the window: a clock read a little late, or another server's a little ahead.
OBSERVE_MARGIN = 60.0


def observable_for(settings: VerificationSettings, idle_timeout: int) -> float | None:
    """How long after its last use a made-up name's code record still shapes what is
    answered, so that dropping it would tell the name from a real user's; None: for ever.
    A flow may submit its code until it is idle too long; a new start is given the code
    again, not a new one, while it lives and the cooldown runs or the day's cap is reached
    (the cap looks back a day)."""
    if not idle_timeout:
        return None
    window = max(float(idle_timeout), float(settings.code_cooldown))
    if settings.max_codes_per_day:
        window = max(window, DAY)
    elif settings.expiry_minutes:
        window = max(window, settings.expiry_minutes * 60.0)
    return window + OBSERVE_MARGIN


class SendLimits:
    def __init__(self, data_key: bytes) -> None:
        self._key = hmac.new(data_key, b"pwreset send limits v1", hashlib.sha256).digest()
        self._sweeps = BackgroundSweep("old decoy codes")

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
        store: KeyedRecords,
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
        code = new_code(settings)
        fresh = code_record(code, flow_id, now)
        with store.locked():
            user_sent = _recent(store.get(user_id), now)
            live_code = current if current is not None and live(current, settings, now) else None
            cooling = _cooling(user_sent, settings, now)
            if live_code is not None and cooling:
                return _reuse(live_code, flow_id)
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
                return _reuse(live_code, flow_id) if live_code is not None else Issue(fresh)
            _note(store, user_id, [*user_sent, now], now)
            for destination in allowed:
                if destination.channel != "decoy":
                    key = self.destination_id(destination)
                    _note(store, key, [*_recent(store.get(key), now), now], now)
            return Issue(fresh, code, allowed)

    def issue_decoy(
        self,
        store: KeyedRecords,
        settings: VerificationSettings,
        domain: str,
        username: str,
        flow_id: str,
        now: float,
        *,
        idle_timeout: int,
    ) -> None:
        """The same for an unknown name: its code (one nobody is sent) is kept in its keyed
        record. Hold the user's lock for (domain, username)."""
        user_id = self.user_id(domain, username)
        issue = self.issue(store, settings, user_id, _decoy_code(store, user_id), [DECOY],
                           flow_id, now)  # fmt: skip
        _keep_decoy_code(store, user_id, issue.record, now)
        window = observable_for(settings, idle_timeout)
        if window is not None:
            self._sweeps.maybe(now, lambda at: self.sweep_decoys(store, at, window))

    def sweep_decoys(self, store: KeyedRecords, now: float, window: float) -> int:
        """Past MAX_DECOY_CODES made-up names' records, remove the least recently used
        down to _SWEEP_TO of it, of those untouched for `window` seconds; how many went.
        Only records holding a decoy code go: a real user's code is in their own record, so
        their send counts are never dropped."""
        if len(store) <= MAX_DECOY_CODES:
            return 0  # below the cap in all, real users' counts too: nothing to read for
        decoys = sorted(
            ((float(doc.get("touched") or 0.0), key) for key, doc in store.items("u:")
             if "code" in doc),
            reverse=True,
        )  # fmt: skip
        if len(decoys) <= MAX_DECOY_CODES:
            return 0
        unseen = now - window
        doomed = [key for touched, key in decoys[int(MAX_DECOY_CODES * _SWEEP_TO) :]
                  if touched < unseen]  # fmt: skip
        # Judged again as each is deleted: a record used meanwhile stays.
        return store.delete_untouched(doomed, unseen)

    def settle(self) -> None:
        """Wait for a sweep under way (for tests and a clean stop)."""
        self._sweeps.settle()

    def try_decoy(
        self,
        store: KeyedRecords,
        settings: VerificationSettings,
        domain: str,
        username: str,
        typed: str,
        flow_id: str,
        now: float,
    ) -> Verdict:
        """A code typed for an unknown name: wrong, counted like a real user's, until the
        decoy code is dead. Hold the user's lock for (domain, username)."""
        user_id = self.user_id(domain, username)
        record = _decoy_code(store, user_id)
        verdict = attempt(record, typed, flow_id, settings, never_right=True)
        if record is not None:
            _keep_decoy_code(store, user_id, record, now)
        return verdict

    def withdraw(self, store: KeyedRecords, user_id: str, issue: Issue, now: float) -> None:
        """Forget the sends of an issue none of whose messages went out."""
        keys = [user_id] + [self.destination_id(d) for d in issue.send_to if d != DECOY]
        with store.locked():
            for key in keys:
                sent = _recent(store.get(key), now)
                if now in sent:
                    sent.remove(now)
                    _note(store, key, sent, now)


def _reuse(current: dict[str, Any], flow_id: str) -> Issue:
    bind(current, flow_id)
    return Issue(current, reused=True)


def _decoy_code(store: KeyedRecords, user_id: str) -> dict[str, Any] | None:
    code = (store.get(user_id) or {}).get("code")
    return code if isinstance(code, dict) else None


def _keep_decoy_code(store: KeyedRecords, user_id: str, record: dict[str, Any], now: float) -> None:
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


def _note(store: KeyedRecords, key: str, sent: list[float], now: float) -> None:
    doc = store.get(key) or {}
    doc.update(sent=sent, touched=now)
    store.put(key, doc)


# --- sending a user's code ----------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """What became of a code step's send: `sent` (to `shown`, those that failed left out),
    `reused` (a live code within the cooldown, not sent again), `limited` (a limit held it
    back: a code nobody is sent), `nowhere` (no address or phone) or `failed` (no channel
    worked); `shown` is where the step says the code went."""

    outcome: Literal["sent", "reused", "limited", "nowhere", "failed"]
    shown: list[str] = field(default_factory=list)


def send_code(
    step: Step,
    state: FlowState,
    user: DirectoryUser,
    record: UserRecord | None,
    *,
    after_reply: bool = False,
) -> list[str] | None:
    """Choose the destinations, issue (or re-show) the code under the user's lock, and send
    it after: the destinations to show on the code step, or None when no code could be sent
    (the flow then decides: go on without one, or "code not sent"). A start within the
    cooldown or past a limit shows the step without sending (see the module docstring).

    `after_reply` sends from the outbox once the reply is on its way, and shows every
    destination whatever becomes of the send: before anything is proven, neither the time a
    send takes nor its failure may tell an existing account from an unknown name. None then
    means only that the account has nowhere to send a code."""
    delivery = deliver_code(step, state, user, record, after_reply=after_reply)
    return None if delivery.outcome in ("nowhere", "failed") else delivery.shown


def deliver_code(
    step: Step,
    state: FlowState,
    user: DirectoryUser,
    record: UserRecord | None,
    *,
    after_reply: bool = False,
) -> Delivery:
    """`send_code`, telling what became of the send (the help desk says it to its agent)."""
    ctx = step.ctx
    settings = ctx.config.verification
    domain = state.domain
    with ctx.db.users.locked(domain, user.username):
        record = ctx.db.users.get(domain, user.username) or record
        if record is None:
            record = UserRecord(domain=domain, username=user.username, auto_enrolled=True)
            record.language = state.lang
        wanted = _destinations(settings, user, record, auto=state.mode == "auto")
        if not wanted:
            record.code = None
            ctx.db.users.save(record)
            return Delivery("nowhere")
        user_id = ctx.limits.user_id(domain, user.username)
        issue = ctx.limits.issue(
            ctx.db.keyed, settings, user_id, record.code, wanted, state.flow_id, ctx.clock()
        )
        record.code = issue.record
        ctx.db.users.save(record)
    shown = [_shown(settings, d) for d in wanted]
    if issue.code is None:
        step.succeeded(
            "code still valid; not sent again" if issue.reused else "code not sent: limit"
        )
        return Delivery("reused" if issue.reused else "limited", shown)
    if after_reply:
        ctx.outbox.submit(_deliver_later, step, user, record, issue)
        return Delivery("sent", shown)
    failed = _deliver(step, user, record, issue)
    if failed is None:
        return Delivery("failed")
    return Delivery("sent", [_shown(settings, d) for d in wanted if d not in failed])


def _deliver(
    step: Step, user: DirectoryUser, record: UserRecord, issue: Issue
) -> list[Destination] | None:
    """Send the issued code; the destinations that failed, or None when none worked (the
    code is then withdrawn, so it cannot be used and does not count toward a limit)."""
    ctx = step.ctx
    code = issue.code
    if code is None:  # nothing to send: a re-shown or limited code is never delivered
        return []
    recipient = step.recipient(user, record)
    failed: list[Destination] = []
    emails = [d for d in issue.send_to if d.channel == "email"]
    # A failure is logged by the notifier (why, never the code); the user hears of it only
    # if no channel worked.
    if emails:
        try:
            ctx.notifier.send_code_email([d.address for d in emails], code, recipient)
        except NotifyError:
            failed += emails
    for phone in (d for d in issue.send_to if d.channel == "sms"):
        try:
            ctx.notifier.send_code_sms(phone.address, code, recipient)
        except NotifyError:
            failed.append(phone)
    if len(failed) < len(issue.send_to):
        step.succeeded("code sent")
        return failed
    user_id = ctx.limits.user_id(step.domain, user.username)
    ctx.limits.withdraw(ctx.db.keyed, user_id, issue, issue.record["issued"])
    with ctx.db.users.locked(step.domain, user.username):
        stored = ctx.db.users.get(step.domain, user.username)
        if stored is not None and stored.code == issue.record:
            stored.code = None
            ctx.db.users.save(stored)
    return None


def _deliver_later(step: Step, user: DirectoryUser, record: UserRecord, issue: Issue) -> None:
    if _deliver(step, user, record, issue) is None:
        step.failed("code could not be sent")


def _destinations(
    settings: VerificationSettings, user: DirectoryUser, record: UserRecord, *, auto: bool
) -> list[Destination]:
    """Where the code goes. Auto-enrolled users only ever get the directory's address:
    nobody has checked an address they could have typed."""
    found: list[Destination] = []
    # Contacts copied from the directory at enrollment stand for the directory's: a later
    # change of the attribute (which users may edit themselves) redirects no code.
    copied = record.copied_contacts
    if settings.email:
        choice = "directory" if auto else settings.email_to
        directory_email = record.email if "email" in copied else user.email
        emails: list[str] = []
        if choice in ("directory", "both") and directory_email:
            emails.append(directory_email)
        if choice in ("enrolled", "both") and record.email and record.email not in emails:
            emails.append(record.email)
        found += [Destination("email", address) for address in emails]
    phone = record.phone if "phone" in copied else user.phone
    if settings.sms and phone:
        found.append(Destination("sms", phone))
    return found


def _shown(settings: VerificationSettings, destination: Destination) -> str:
    if not settings.mask_destinations:
        return destination.address
    mask = mask_email if destination.channel == "email" else mask_phone
    return mask(destination.address)
