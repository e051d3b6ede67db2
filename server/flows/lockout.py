"""pwreset's own lockout: wrong answers counted per name, slowed down after the first few,
locked at the threshold, and forgotten `lockout_minutes` after the last one.

A wrong answer given again to the same question within that time is not counted again
(Microsoft Entra's smart lockout rule): a user retyping what they believe is right does not
lock themselves out, while an attacker gains nothing, since each different guess still
counts. Only a keyed hash of each different wrong answer is kept (`AnswerPrints`), at most
`REMEMBERED_WRONG_ANSWERS` per name, and forgotten with the count.

The same rules apply to enrolled users (the count lives in their record) and to unknown and
unenrolled names (the count lives in `DecoyStrikes`), so the replies do not tell them apart.
Decoys' names are kept only as an HMAC under a key derived from the data key (the store does
not list who was tried), each count is a durable write like an enrolled user's, and the table
stays bounded however many names attackers try: counts older than the lockout box are swept
away, so it holds one box of names at most. A count within its box is never dropped to make
room: the next wrong answer would then be told what a fresh name is, while a real user's
count, in their record, stays (a flood of new names would tell the two apart). Only with no
box (`lockout_minutes = 0`) does `MAX_DECOY_ENTRIES` bound it, the oldest going first.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pwreset.config.flow_settings import SecuritySettings
from pwreset.config.schema import DomainConfig
from pwreset.server.flows.errors import FlowError
from pwreset.server.flows.questions import normalise
from pwreset.server.flows.sweeping import BackgroundSweep
from pwreset.server.storage import KeyedRecords, UserRecord
from pwreset.server.storage.users import user_key

log = logging.getLogger("pwreset.flows")

# Wrong answers in a row after which the next try is not slowed down: a typo, a second
# thought, and one more.
FREE_FAILURES = 2
# The longest a user is asked to wait between two tries.
MAX_DELAY = 900.0
# Different wrong answers remembered per name (Entra keeps three): an attacker cycling
# through more than this gets each one counted every time it comes round again.
REMEMBERED_WRONG_ANSWERS = 5


@dataclass(frozen=True)
class Strikes:
    """Wrong answers in a row, when the last one was given, and the prints (see
    `AnswerPrints`) of the different wrong answers counted, oldest first."""

    count: int = 0
    last: float | None = None
    seen: tuple[str, ...] = ()


class AnswerPrints:
    """Keyed hashes of wrong answers: the same answer (as answers are compared, normalised)
    to the same question of the same name gives the same print, and nothing else does. The
    key is derived from the data key, so the store alone does not let anyone test guesses
    against them; the name is part of what is hashed, so prints do not match across users."""

    def __init__(self, data_key: bytes) -> None:
        self._key = hmac.new(data_key, b"pwreset wrong answers v1", hashlib.sha256).digest()

    def of(self, domain: str, name: str, question: int, answer: str) -> str:
        person = user_key(domain, name.strip())
        text = f"{person}\0{question}\0{normalise(answer)}".encode()
        # 64 bits: two different wrong answers of one name never share a print in practice.
        return hmac.new(self._key, text, hashlib.sha256).hexdigest()[:16]


def current(strikes: Strikes, security: SecuritySettings, now: float) -> Strikes:
    """`strikes` as they stand at `now`: nothing once the lockout box has passed."""
    box = security.lockout_minutes * 60.0
    if strikes.count and box and (strikes.last is None or now - strikes.last >= box):
        # A count without a time is from before lockouts were time-boxed: it has run out.
        return Strikes()
    return strikes


def is_locked(strikes: Strikes, security: SecuritySettings, now: float) -> bool:
    threshold = security.lockout_threshold
    return bool(threshold) and current(strikes, security, now).count >= threshold


def locked_until(strikes: Strikes, security: SecuritySettings, now: float) -> float | None:
    """When pwreset's lockout ends by itself: None when not locked out, infinity when only
    re-enrolment or the help desk (`pwreset users unlock`) lifts it (no lockout_minutes).
    Unlock never does (apr checklist 60)."""
    if not is_locked(strikes, security, now):
        return None
    box = security.lockout_minutes * 60.0
    return strikes.last + box if box and strikes.last is not None else math.inf


def delay(strikes: Strikes, security: SecuritySettings, now: float) -> float:
    """Seconds to wait before the next try is looked at; 0 when it may go ahead."""
    live = current(strikes, security, now)
    extra = live.count - FREE_FAILURES - 1
    if extra < 0 or not security.failure_delay or live.last is None:
        return 0.0
    wait = min(MAX_DELAY, security.failure_delay * 2.0 ** min(extra, 20))
    return max(0.0, live.last + wait - now)


def check(strikes: Strikes, security: SecuritySettings, now: float) -> None:
    """Refuse a try while locked out or while it must wait (nothing is counted)."""
    if is_locked(strikes, security, now):
        raise FlowError("locked_out")
    wait = delay(strikes, security, now)
    if wait > 0:
        seconds = str(int(wait) + 1)
        raise FlowError(
            "rate_limited",
            f"too many wrong answers; try again in {seconds} seconds",
            retry_after=seconds,
        )


def repeated(strikes: Strikes, security: SecuritySettings, now: float, answer: str) -> bool:
    """Whether the wrong answer with print `answer` was counted already and still is."""
    return answer in current(strikes, security, now).seen


def add(strikes: Strikes, security: SecuritySettings, now: float, answer: str = "") -> Strikes:
    """One more wrong answer, given at `now`, with its print `answer` (none for a code)."""
    live = current(strikes, security, now)
    seen = (*live.seen, answer)[-REMEMBERED_WRONG_ANSWERS:] if answer else live.seen
    return Strikes(live.count + 1, now, seen)


# --- in an enrolled user's record --------------------------------------------------------------


def of_record(record: UserRecord) -> Strikes:
    return Strikes(record.wrong_answers, record.last_failure, tuple(record.wrong_answer_prints))


def fail_record(
    record: UserRecord, security: SecuritySettings, now: float, answer: str = ""
) -> bool:
    """Count one wrong answer (print `answer`, none for a code) in `record`; True if this
    one locks the user out."""
    before = of_record(record)
    after = add(before, security, now, answer)
    record.wrong_answers = after.count
    record.last_failure = after.last
    record.wrong_answer_prints = list(after.seen)
    record.locked_out = is_locked(after, security, now)
    return record.locked_out and not is_locked(before, security, now)


def release(record: UserRecord) -> bool:
    """Lift the lockout and forget the wrong answers; True if there was anything to lift."""
    had = record.locked_out or record.wrong_answers > 0
    record.wrong_answers = 0
    record.last_failure = None
    record.wrong_answer_prints = []
    record.locked_out = False
    return had


# --- for names without an enrollment (decoys) ----------------------------------------------

# ~100 bytes each in memory and in the snapshot, ~200 with remembered wrong answers. The cap
# without a lockout box (see the module docstring).
MAX_DECOY_ENTRIES = 100_000
# A sweep reads the whole table: at most this often, and, once the table is full, down to
# this share of MAX_DECOY_ENTRIES, so the next one comes after many new names, not the next one.
_SWEEP_EVERY = 60.0
_SWEEP_TO = 0.9


def directory_name(typed: str, domain: DomainConfig | None) -> str:
    """The name the directory looks `typed` up as, which a decoy is kept and known under:
    the spellings the directory takes for one account (AD: "LAB\\bob", "bob@lab.example.com")
    are one decoy, and those it does not ("bob@elsewhere", "LAB\\bob" on OpenLDAP) are
    others, exactly as for an existing user. Otherwise a spelling that reaches an enrolled
    user's record for one try and a decoy for the next would tell who exists (the counts,
    the questions shown)."""
    name = typed.strip()
    if domain is None or domain.kind != "ad" or domain.user_filter:
        return name
    # As ActiveDirectory._find does, and the default filter's userPrincipalName match.
    if "\\" in name:
        name = name.split("\\", 1)[1]
    suffix = "@" + domain.dns_domain()
    if name.casefold().endswith(suffix.casefold()):
        name = name[: -len(suffix)]
    return name


class DecoyStrikes:
    """Strikes by (domain, name) for names that have no enrollment, the name as
    `directory_name` gives it. Thread-safe."""

    def __init__(
        self,
        records: KeyedRecords,
        data_key: bytes,
        security: SecuritySettings,
        clock: Callable[[], float],
    ) -> None:
        self._records = records
        self._key = hmac.new(data_key, b"pwreset decoy strikes v1", hashlib.sha256).digest()
        self._security = security
        self._clock = clock
        # Not in the request: a full table takes a while to read, and only a decoy's wrong
        # answer would wait for it, which would tell it from an enrolled user's.
        self._sweeps = BackgroundSweep("old decoy counts", _SWEEP_EVERY)

    def _id(self, domain: str, name: str) -> str:
        key = user_key(domain, name.strip()).encode("utf-8")
        return hmac.new(self._key, key, hashlib.sha256).hexdigest()[:32]

    def get(self, domain: str, name: str) -> Strikes:
        doc = self._records.get(self._id(domain, name))
        if doc is None:
            return Strikes()
        return Strikes(int(doc.get("n", 0)), doc.get("t"), tuple(doc.get("w") or ()))

    def put(self, domain: str, name: str, strikes: Strikes) -> None:
        """Durable when this returns, like an enrolled user's record."""
        doc: dict[str, Any] = {"n": strikes.count, "t": strikes.last}
        if strikes.seen:
            doc["w"] = list(strikes.seen)
        self._records.put(self._id(domain, name), doc)
        # Past the cap at once only where the cap applies: with a box, a full table is one
        # box of names, and sweeping it on every put would read it over and over.
        capped = not self._security.lockout_minutes and len(self) > MAX_DECOY_ENTRIES
        self._sweeps.maybe(self._clock(), self.sweep, due=capped)

    def release(self, domain: str, name: str) -> bool:
        return self._records.delete(self._id(domain, name))

    def __len__(self) -> int:
        return len(self._records)

    def settle(self) -> None:
        """Wait for a sweep under way (for tests and a clean stop)."""
        self._sweeps.settle()

    def sweep(self, now: float) -> int:
        """Remove counts past the lockout box; without a box, past MAX_DECOY_ENTRIES, the
        oldest down to _SWEEP_TO of it."""
        box = self._security.lockout_minutes * 60.0
        entries = []
        for key, doc in self._records.items(""):
            last = doc.get("t") or 0.0
            entries.append((float(last), key))
        if box:
            past = [key for last, key in entries if last < now - box]
            # Judged again as each is deleted: a name struck meanwhile keeps its count.
            return self._records.delete_untouched(past, now - box, field="t")
        if len(entries) <= MAX_DECOY_ENTRIES:
            return 0
        oldest = sorted(entries, reverse=True)[int(MAX_DECOY_ENTRIES * _SWEEP_TO) :]
        return self._records.delete_many([key for _, key in oldest])
