"""The cap on successful resets and unlocks per user (`security.max_recoveries` in
`security.recovery_window_days`), as ManageEngine ADSelfService Plus and Specops uReset have.

The times of a user's recent resets and unlocks live in their record (`recoveries`). The cap
is looked at only once the user has answered every question (and code): a decoy never gets
that far, so it tells nobody who exists or enrolled. A write takes its place in the count
before it is made (`take`), under the user's lock, so parallel flows cannot both take the
last one; a write the directory refuses gives it back (`give_back`).
"""

from __future__ import annotations

from pwreset.config.flow_settings import MAX_RECOVERIES, SecuritySettings
from pwreset.server.storage import UserRecord

DAY = 86400.0


def recent(record: UserRecord, security: SecuritySettings, now: float) -> list[float]:
    """The times of the resets and unlocks within the window, oldest first."""
    window = security.recovery_window_days * DAY
    return sorted(t for t in record.recoveries if now - t < window)


def wait(record: UserRecord, security: SecuritySettings, now: float) -> float:
    """Seconds until the user may reset or unlock again; 0 when they may now."""
    cap = security.max_recoveries
    times = recent(record, security, now)
    if not cap or len(times) < cap:
        return 0.0
    # Once all but cap - 1 of them have left the window, one more is allowed.
    frees = times[len(times) - cap]
    return max(0.0, frees + security.recovery_window_days * DAY - now)


def take(record: UserRecord, security: SecuritySettings, now: float) -> None:
    """Count a reset or unlock about to be made at `now` (save the record after). Counted
    with the cap off too, so a cap switched on applies to the window already begun."""
    record.recoveries = (*recent(record, security, now), now)[-MAX_RECOVERIES:]


def give_back(record: UserRecord, taken: float) -> None:
    """Forget the reset or unlock counted at `taken`: it was not made."""
    times = list(record.recoveries)
    if taken in times:
        times.remove(taken)
    record.recoveries = tuple(times)
