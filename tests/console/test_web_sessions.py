"""The web console's sign-in throttle and sessions, on an injected clock."""

from __future__ import annotations

from pwreset.config.console_settings import ConsoleSettings
from pwreset.console.web.sessions import ADMIN, Sessions, SigninThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_the_throttle_counts_per_account_and_per_address_and_forgets_old_names() -> None:
    clock = Clock()
    throttle = SigninThrottle(ConsoleSettings(signin_failures_per_account=2), clock)
    throttle.failed("Boss", "10.0.0.1")
    throttle.failed("boss", "10.0.0.2")
    assert not throttle.allowed("BOSS", "10.0.0.3")  # the account, whatever the address
    assert throttle.allowed("other", "10.0.0.1")
    for n in range(20):
        throttle.failed(f"guess{n}", "10.0.0.9")
    assert not throttle.allowed("fresh", "10.0.0.9")  # the address, whatever the name
    # A flood of typed names cannot grow the table past the window's failures.
    throttle.MAX_KEYS = 50  # type: ignore[misc]
    clock.now += 16 * 60
    for n in range(60):
        throttle.failed(f"flood{n}", f"10.1.0.{n}")
    assert len(throttle) <= 2 * 60 + 1
    clock.now += 16 * 60
    throttle.failed("last", "10.2.0.1")
    assert len(throttle) == 2
    assert throttle.allowed("boss", "10.0.0.9")


def test_a_session_ends_idle_or_at_its_lifetime_and_its_token_is_its_own() -> None:
    clock = Clock()
    sessions = Sessions(ConsoleSettings(idle_minutes=10, session_hours=1), clock)
    one = sessions.start("boss", "LAB", "boss", frozenset({ADMIN}))
    other = sessions.start("boss", "LAB", "boss", frozenset({ADMIN}))
    assert one.id != other.id and one.csrf != other.csrf
    assert one.csrf_ok(one.csrf) and not one.csrf_ok(other.csrf) and not one.csrf_ok("")
    clock.now += 9 * 60
    assert sessions.find(one.id) is one
    clock.now += 11 * 60
    assert sessions.find(one.id) is None and sessions.find(other.id) is None
    busy = sessions.start("boss", "LAB", "boss", frozenset({ADMIN}))
    for _ in range(6):
        clock.now += 9 * 60
        assert sessions.find(busy.id) is busy
    clock.now += 9 * 60  # 63 minutes after sign-in, never idle
    assert sessions.find(busy.id) is None
    assert sessions.find(None) is None and sessions.find("nope") is None


def test_a_throttled_flood_is_reported_once_per_blocking_key_and_window() -> None:
    clock = Clock()
    throttle = SigninThrottle(ConsoleSettings(signin_failures_per_account=2), clock)
    throttle.failed("boss", "10.0.0.1")
    throttle.failed("boss", "10.0.0.2")
    # Attempt after attempt against the blocked account: the first refusal is reported.
    reported = [throttle.first_refusal("boss", f"10.0.1.{n}") for n in range(50)]
    assert reported == [True] + [False] * 49
    clock.now += 16 * 60  # the window has passed: the failures and the report are old
    assert throttle.allowed("boss", "10.0.0.1")
    throttle.failed("boss", "10.0.0.1")
    throttle.failed("boss", "10.0.0.1")
    assert throttle.first_refusal("boss", "10.0.0.1")
