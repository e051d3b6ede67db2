"""Recovery codes as a recovery factor: ten single-use codes shown once at enroll.

Each code is 10 characters of Crockford's base32 (no I, L, O or U; 50 bits), shown in two
groups of five; typed, case, spaces and dashes do not matter and I, L and O read as 1, 1
and 0. Only a keyed hash of each is stored (HMAC-SHA256 with a key derived from the data
key, bound to the account): the store alone does not let anyone test guesses. Generating a
new set replaces the old one. A used code is marked with when it was used and refused after;
using one is audited and alerted, the alert saying how many are left. A wrong code counts
toward the lockout as a wrong answer does; names without codes are checked against hashes
nobody can match, with the same work, and refused the same way.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pwreset.server.flows import lockout
from pwreset.server.flows.context import Outcome
from pwreset.server.flows.errors import FlowError
from pwreset.server.flows.factors.base import EnrollStep
from pwreset.server.flows.fields import text
from pwreset.server.storage import UserRecord
from pwreset.server.storage.users import user_key

if TYPE_CHECKING:
    from pwreset.server.flows.recovery import Recovery

KIND = "recovery_code"
COUNT = 10
LENGTH = 10
GROUP = 5
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base32
_READ_AS = str.maketrans({"I": "1", "L": "1", "O": "0"})
# The alert's macro for the codes left.
LEFT_MACRO = "[CODES_LEFT]"

WRONG = "wrong recovery code"
USED_BEFORE = "recovery code already used"
NONE_ENROLLED = "recovery code given, but none generated"
GENERATED = "recovery codes generated"
REMOVED = "recovery codes removed"

Verdict = Literal["right", "used", "wrong"]


def used_text(left: int) -> str:
    return f"recovery code used, {left} left"


class RecoveryCodeKey:
    """Keyed hashes of recovery codes: the key is derived from the data key (through
    `FlowContext.factor_key`), and the account is part of what is hashed, so a hash matches
    only its own user's code."""

    def __init__(self, factor_key: bytes) -> None:
        self._key = hmac.new(factor_key, b"pwreset recovery codes v1", hashlib.sha256).digest()

    def of(self, domain: str, username: str, code: str) -> str:
        typed = f"{user_key(domain, username)}\0{normalise(code)}".encode()
        return hmac.new(self._key, typed, hashlib.sha256).hexdigest()


def normalise(typed: str) -> str:
    return "".join(typed.upper().replace("-", "").split()).translate(_READ_AS)


def new_codes() -> list[str]:
    """COUNT fresh codes, as shown: "ABCDE-FGHJK"."""
    made = ("".join(secrets.choice(ALPHABET) for _ in range(LENGTH)) for _ in range(COUNT))
    return [f"{code[:GROUP]}-{code[GROUP:]}" for code in made]


def entries(record: UserRecord | None) -> list[dict[str, Any]]:
    found = (record.enrollment or {}).get(KIND) if record is not None else None
    return found if isinstance(found, list) else []


def left(record: UserRecord | None) -> int:
    return sum(1 for item in entries(record) if item.get("used") is None)


def generate(record: UserRecord, key: RecoveryCodeKey, now: float) -> list[str]:
    """A new set in `record`, replacing any earlier one; the codes, to be shown once."""
    codes = new_codes()
    enrollment: dict[str, Any] = record.enrollment if record.enrollment is not None else {"v": 1}
    enrollment[KIND] = [
        {"h": key.of(record.domain, record.username, code), "used": None, "added": now}
        for code in codes
    ]
    record.enrollment = enrollment
    return codes


# What decoys are compared against: hashes no code has (not hex).
_DECOY_ENTRIES = [{"h": "-" * 64, "used": None}] * COUNT


def use(stored: list[dict[str, Any]], hashed: str, now: float) -> Verdict:
    """Mark the code hashed as `hashed` used, if it is one of `stored` and not used yet.
    Every entry is compared, in constant time: the same work whichever matches."""
    found: dict[str, Any] | None = None
    for item in stored:
        if hmac.compare_digest(str(item.get("h", "")), hashed):
            found = item
    if found is None:
        return "wrong"
    if found.get("used") is not None:
        return "used"
    found["used"] = now
    return "right"


class RecoveryCodeFactor:
    """The reset and unlock step: `{"kind": "recovery_code"}`, answered with `{"code"}`."""

    kind: ClassVar[str] = KIND

    def has(self, record: UserRecord) -> bool:
        return left(record) > 0

    def ask(self, recovery: Recovery, record: UserRecord | None) -> Mapping[str, Any]:
        return {"kind": KIND}

    def check(self, recovery: Recovery, record: UserRecord | None) -> Mapping[str, Any] | None:
        typed = text(recovery.request.body, "code")
        state, now = recovery.state, recovery.now
        hashed = RecoveryCodeKey(recovery.ctx.factor_key).of(state.domain, state.username, typed)
        if record is None:
            recovery.decoy_check(counted=True)
            use(_DECOY_ENTRIES, hashed, now)
            recovery.decoy_failure(WRONG)
            raise FlowError("wrong_code")
        lockout.check(lockout.of_record(record), recovery.ctx.config.security, now)
        stored = entries(record)
        verdict = use(stored or _DECOY_ENTRIES, hashed, now)
        if verdict != "right":
            what = {"wrong": WRONG, "used": USED_BEFORE}[verdict] if stored else NONE_ENROLLED
            # Counted as the user's wrong code also when they have none: their lockout, not
            # a decoy's, is what the next start looks at.
            recovery.count_failure(record, what)
            raise FlowError("wrong_code")
        recovery.ctx.db.users.save(record)
        remaining = left(record)
        recovery.succeeded(used_text(remaining))
        recovery.alert(
            KIND,
            Outcome.SUCCESS,
            recovery.addressee(recovery.directory, record.username),
            values={LEFT_MACRO: str(remaining)},
        )
        return None


def generate_action(step: EnrollStep) -> Mapping[str, Any]:
    """`recovery_code.generate`: a new set of ten, replacing the old, shown this once."""
    with step.locked() as record:
        codes = generate(record, RecoveryCodeKey(step.ctx.factor_key), step.now)
        step.save(record)
    step.succeeded(GENERATED)
    step.factors_changed()
    return {"codes": codes, "factors": list(record.factors)}


def remove_action(step: EnrollStep) -> Mapping[str, Any]:
    """`recovery_code.remove`: the codes left stop working and are no longer a factor."""
    return step.remove(KIND, REMOVED)


FACTOR = RecoveryCodeFactor()
ENROLL_ACTIONS = {
    "recovery_code.generate": generate_action,
    "recovery_code.remove": remove_action,
}
