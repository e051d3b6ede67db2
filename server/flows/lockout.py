"""pwreset's own lockout: wrong answers counted per name, slowed down after the first few,
locked at the threshold, and forgotten `lockout_minutes` after the last one.

The same rules apply to enrolled users (the count lives in their record) and to decoys
(the count lives in `DecoyStrikes`), so the replies do not tell them apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from pwreset.config.flow_settings import SecuritySettings
from pwreset.server.flows.errors import FlowError
from pwreset.server.storage import UserRecord

# Wrong answers in a row after which the next try is not slowed down: a typo, a second
# thought, and one more.
FREE_FAILURES = 2
# The longest a user is asked to wait between two tries.
MAX_DELAY = 900.0


@dataclass(frozen=True)
class Strikes:
    """Wrong answers in a row and when the last one was given."""

    count: int = 0
    last: float | None = None


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


def add(strikes: Strikes, security: SecuritySettings, now: float) -> Strikes:
    """One more wrong answer, given at `now`."""
    return Strikes(current(strikes, security, now).count + 1, now)


# --- in an enrolled user's record --------------------------------------------------------------


def of_record(record: UserRecord) -> Strikes:
    return Strikes(record.wrong_answers, record.last_failure)


def fail_record(record: UserRecord, security: SecuritySettings, now: float) -> bool:
    """Count one wrong answer in `record`; True if this one locks the user out."""
    before = of_record(record)
    after = add(before, security, now)
    record.wrong_answers = after.count
    record.last_failure = after.last
    record.locked_out = is_locked(after, security, now)
    return record.locked_out and not is_locked(before, security, now)


def release(record: UserRecord) -> bool:
    """Lift the lockout and forget the wrong answers; True if there was anything to lift."""
    had = record.locked_out or record.wrong_answers > 0
    record.wrong_answers = 0
    record.last_failure = None
    record.locked_out = False
    return had
