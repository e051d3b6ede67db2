"""The server's memory of recent requests: refusing stale and replayed ones, and the
cache that answers a relay's retry with the very reply it missed.

Order on the server: open_request → ReplyCache.get (a retry from the request's own address:
resend the cached bytes) → ReplayGuard.check → handle → seal_reply → ReplyCache.put → send.
The guard lives in memory; the server keeps a durable copy of what it accepted and hands
it to `ReplayGuard.restore` at start, so a restart does not reopen the window.
"""

from __future__ import annotations

import heapq
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from .errors import ReplayedRequest, StaleRequest
from .messages import Request

__all__ = ["CachedReply", "ReplayGuard", "ReplyCache"]


class ReplayGuard:
    """Accepts each request id once, and only with a timestamp within `window` seconds of
    the server clock. An id is forgotten once its timestamp falls out of the window, since
    from then on the staleness check refuses it anyway: memory stays bounded by the rate
    of accepted requests times the window."""

    def __init__(self, window: float = 60.0, clock: Callable[[], float] = time.time) -> None:
        if window <= 0:
            raise ValueError("the replay window must be positive")
        self._window = window
        self._clock = clock
        self._seen: dict[bytes, float] = {}
        # Timestamps arrive out of order (many relays, clock skew), so expiry needs a heap.
        self._expiry: list[tuple[float, bytes]] = []

    def check(self, request: Request) -> None:
        """Record the request, or raise StaleRequest / ReplayedRequest."""
        now = self._clock()
        self._prune(now)
        skew = now - request.timestamp
        if abs(skew) > self._window:
            raise StaleRequest(
                f"request timestamp is {skew:+.0f}s from the server clock "
                f"(window {self._window:g}s)"
            )
        if request.request_id in self._seen:
            raise ReplayedRequest(f"request id {request.request_id.hex()} was already accepted")
        self._remember(request.request_id, request.timestamp)

    def restore(self, accepted: Iterable[tuple[bytes, float]]) -> None:
        """Take back (request id, timestamp) pairs accepted before a restart; those whose
        timestamp has left the window are dropped, since `check` refuses them anyway."""
        now = self._clock()
        for request_id, timestamp in accepted:
            if timestamp + self._window >= now and request_id not in self._seen:
                self._remember(request_id, timestamp)

    def _remember(self, request_id: bytes, timestamp: float) -> None:
        expires = timestamp + self._window
        self._seen[request_id] = expires
        heapq.heappush(self._expiry, (expires, request_id))

    def _prune(self, now: float) -> None:
        while self._expiry and self._expiry[0][0] < now:
            _, request_id = heapq.heappop(self._expiry)
            del self._seen[request_id]

    def __len__(self) -> int:
        return len(self._seen)


class CachedReply(NamedTuple):
    sealed: bytes
    # Where the request came from: the only address its retries are answered at, or the
    # cache would reflect a large reply to any address a forger names.
    origin: tuple[Any, ...]


class ReplyCache:
    """Sealed replies by request id for `ttl` seconds, at most `max_entries` (oldest go
    first), so a retried request is answered without running its effect twice."""

    def __init__(
        self,
        ttl: float = 120.0,
        max_entries: int = 10000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if ttl <= 0 or max_entries < 1:
            raise ValueError("the reply cache needs a positive ttl and room for one entry")
        self._ttl = ttl
        self._max_entries = max_entries
        self._clock = clock
        # Insertion order is expiry order (one ttl for all), so pruning stops at the
        # first live entry: O(1) amortised.
        self._entries: OrderedDict[bytes, tuple[float, CachedReply]] = OrderedDict()

    def get(self, request_id: bytes) -> CachedReply | None:
        now = self._clock()
        self._prune(now)
        entry = self._entries.get(request_id)
        # Checked again because a clock stepped back can leave an expired entry behind
        # a live one.
        return None if entry is None or entry[0] <= now else entry[1]

    def put(self, request_id: bytes, sealed_reply: bytes, origin: tuple[Any, ...]) -> None:
        now = self._clock()
        self._prune(now)
        self._entries[request_id] = (now + self._ttl, CachedReply(sealed_reply, origin))
        self._entries.move_to_end(request_id)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def _prune(self, now: float) -> None:
        while self._entries:
            expires, _ = next(iter(self._entries.values()))
            if expires > now:
                break
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
