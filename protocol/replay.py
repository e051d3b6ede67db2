"""The server's memory of recent requests: refusing stale and replayed ones, and the
cache that answers a relay's retry with the very reply it missed.

Order on the server: open_request → ReplyCache.get (a retry: resend the cached bytes) →
ReplayGuard.check → handle → seal_reply → ReplyCache.put → send.
"""

from __future__ import annotations

import heapq
import time
from collections import OrderedDict
from collections.abc import Callable

from .exceptions import ReplayedRequest, StaleRequest
from .messages import Request

__all__ = ["ReplayGuard", "ReplyCache"]


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
        expires = request.timestamp + self._window
        self._seen[request.request_id] = expires
        heapq.heappush(self._expiry, (expires, request.request_id))

    def _prune(self, now: float) -> None:
        while self._expiry and self._expiry[0][0] < now:
            _, request_id = heapq.heappop(self._expiry)
            del self._seen[request_id]

    def __len__(self) -> int:
        return len(self._seen)


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
        self._entries: OrderedDict[bytes, tuple[float, bytes]] = OrderedDict()

    def get(self, request_id: bytes) -> bytes | None:
        now = self._clock()
        self._prune(now)
        entry = self._entries.get(request_id)
        # Checked again because a clock stepped back can leave an expired entry behind
        # a live one.
        return None if entry is None or entry[0] <= now else entry[1]

    def put(self, request_id: bytes, sealed_reply: bytes) -> None:
        now = self._clock()
        self._prune(now)
        self._entries[request_id] = (now + self._ttl, sealed_reply)
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
