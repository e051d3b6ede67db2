"""ReplayGuard and ReplyCache with a fake clock: refusals, pruning, bounded memory."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pwreset.protocol.errors import ReplayedRequest, StaleRequest
from pwreset.protocol.messages import Request
from pwreset.protocol.replay import ReplayGuard, ReplyCache

ORIGIN = ("192.0.2.7", 40000)


class _Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _request(timestamp: float, request_id: bytes | None = None) -> Request:
    if request_id is None:
        return Request(op="ping", vdir="", client_ip="", body={}, timestamp=timestamp)
    return Request(
        op="ping", vdir="", client_ip="", body={}, timestamp=timestamp, request_id=request_id
    )


def test_replay_is_refused() -> None:
    clock = _Clock()
    guard = ReplayGuard(clock=clock)
    request = _request(clock.now)
    guard.check(request)
    with pytest.raises(ReplayedRequest, match=request.request_id.hex()):
        guard.check(request)


@pytest.mark.parametrize("offset", [-60.5, 60.5, -1e9, 1e9])
def test_stale_requests_are_refused(offset: float) -> None:
    clock = _Clock()
    with pytest.raises(StaleRequest, match="window 60s"):
        ReplayGuard(clock=clock).check(_request(clock.now + offset))


@pytest.mark.parametrize("offset", [-60.0, 0.0, 60.0])
def test_the_window_edges_are_accepted(offset: float) -> None:
    clock = _Clock()
    ReplayGuard(clock=clock).check(_request(clock.now + offset))


def test_remembered_ids_are_pruned_once_stale() -> None:
    clock = _Clock()
    guard = ReplayGuard(window=60.0, clock=clock)
    old = [_request(clock.now + skew) for skew in (-50.0, 0.0, 50.0) for _ in range(100)]
    for request in old:
        guard.check(request)
    assert len(guard) == 300
    clock.now += 20.0  # the -50 s ones are now 70 s old
    guard.check(_request(clock.now))
    assert len(guard) == 201
    clock.now += 100.0  # all of them are out of the window
    guard.check(_request(clock.now))
    assert len(guard) == 1
    # Forgotten, but still refused: as stale rather than replayed.
    with pytest.raises(StaleRequest):
        guard.check(old[150])


def test_restored_ids_stay_refused_and_stale_ones_are_dropped() -> None:
    """security review, low: what a guard accepted before a restart is still refused."""
    clock = _Clock()
    before = ReplayGuard(window=60.0, clock=clock)
    fresh, old = _request(clock.now - 10.0), _request(clock.now - 55.0)
    before.check(fresh)
    before.check(old)
    clock.now += 20.0  # restart: `old` has left the window, `fresh` has not
    after = ReplayGuard(window=60.0, clock=clock)
    after.restore([(r.request_id, r.timestamp) for r in (fresh, old)])
    assert len(after) == 1
    with pytest.raises(ReplayedRequest):
        after.check(fresh)
    with pytest.raises(StaleRequest):
        after.check(old)


@settings(max_examples=50, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.integers(0, 7),  # which of 8 request ids
            st.floats(-90.0, 90.0),  # timestamp offset from the clock
            st.floats(0.0, 40.0),  # how far the clock moves first
        ),
        max_size=60,
    )
)
def test_no_request_id_is_ever_accepted_twice(steps: list[tuple[int, float, float]]) -> None:
    clock = _Clock()
    guard = ReplayGuard(window=60.0, clock=clock)
    timestamps: dict[int, float] = {}
    accepted: set[int] = set()
    for which, offset, advance in steps:
        clock.now += advance
        # A replay carries the original timestamp; a first send carries a fresh one.
        timestamp = timestamps.setdefault(which, clock.now + offset)
        try:
            guard.check(_request(timestamp, bytes([which]) * 16))
        except (StaleRequest, ReplayedRequest):
            continue
        assert which not in accepted
        accepted.add(which)
    assert len(guard) <= len(accepted)


def test_reply_cache_answers_until_the_ttl() -> None:
    clock = _Clock()
    cache = ReplyCache(ttl=120.0, clock=clock)
    cache.put(b"a" * 16, b"sealed reply", ORIGIN)
    assert cache.get(b"a" * 16) == (b"sealed reply", ORIGIN)
    assert cache.get(b"b" * 16) is None
    clock.now += 119.0
    assert cache.get(b"a" * 16) == (b"sealed reply", ORIGIN)
    clock.now += 1.0
    assert cache.get(b"a" * 16) is None
    assert len(cache) == 0


def test_reply_cache_prunes_expired_entries_on_put() -> None:
    clock = _Clock()
    cache = ReplyCache(ttl=10.0, clock=clock)
    for n in range(100):
        cache.put(n.to_bytes(16, "big"), b"x", ORIGIN)
        clock.now += 1.0
    assert len(cache) == 10


def test_reply_cache_is_bounded_and_drops_the_oldest() -> None:
    clock = _Clock()
    cache = ReplyCache(ttl=1000.0, max_entries=3, clock=clock)
    for n in range(5):
        cache.put(bytes([n]) * 16, bytes([n]), ORIGIN)
        clock.now += 1.0
    assert len(cache) == 3
    assert cache.get(bytes([0]) * 16) is None
    assert cache.get(bytes([1]) * 16) is None
    assert cache.get(bytes([4]) * 16) == (bytes([4]), ORIGIN)


def test_reply_cache_put_again_refreshes_the_entry() -> None:
    clock = _Clock()
    cache = ReplyCache(ttl=10.0, max_entries=2, clock=clock)
    cache.put(b"a" * 16, b"1", ORIGIN)
    cache.put(b"b" * 16, b"2", ORIGIN)
    clock.now += 5.0
    cache.put(b"a" * 16, b"3", ORIGIN)  # now the newest: b goes first
    cache.put(b"c" * 16, b"4", ORIGIN)
    assert cache.get(b"b" * 16) is None
    assert cache.get(b"a" * 16) == (b"3", ORIGIN)
    clock.now += 9.0
    assert cache.get(b"a" * 16) == (b"3", ORIGIN)


def test_reply_cache_survives_a_clock_stepping_back() -> None:
    clock = _Clock()
    cache = ReplyCache(ttl=10.0, clock=clock)
    cache.put(b"a" * 16, b"1", ORIGIN)
    clock.now -= 5.0
    cache.put(b"b" * 16, b"2", ORIGIN)  # expires before a, but sits behind it
    clock.now += 10.0
    assert cache.get(b"b" * 16) is None
    assert cache.get(b"a" * 16) == (b"1", ORIGIN)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        ReplayGuard(window=0)
    with pytest.raises(ValueError):
        ReplyCache(max_entries=0)
