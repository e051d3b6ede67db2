"""Per-address limits on the requests that reach the backend (sign-ins, answers, codes).

Kept in memory only: the relay stays stateless, and each relay instance limits on its own.
A sliding window per end-user address; the table is pruned so it cannot grow without bound.
IPv6 clients are counted per /64: one subscriber or host usually holds a whole /64, so
counting single addresses would give it some 18 quintillion buckets.
"""

from __future__ import annotations

import ipaddress
import time
from collections import deque
from collections.abc import Callable

_MAX_ADDRESSES = 100_000
_IPV6_PREFIX = 64


def bucket(address: str) -> str:
    """The key `address` is counted under: an IPv4 address itself, an IPv6 address's /64."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((ip, _IPV6_PREFIX), strict=False))
    return str(ip)


class RateLimiter:
    def __init__(
        self, limit: int, window: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}

    def allow(self, address: str) -> bool:
        """Count one request from `address`; False once it is over the limit."""
        if self.limit <= 0:
            return True
        address = bucket(address)
        now = self._clock()
        hits = self._hits.get(address)
        if hits is None:
            if len(self._hits) >= _MAX_ADDRESSES:
                self._prune(now)
            hits = self._hits[address] = deque()
        while hits and now - hits[0] >= self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        return True

    def retry_after(self, address: str) -> int:
        hits = self._hits.get(bucket(address))
        if not hits:
            return 0
        return max(1, int(self.window - (self._clock() - hits[0])) + 1)

    def _prune(self, now: float) -> None:
        for address in [a for a, h in self._hits.items() if not h or now - h[-1] >= self.window]:
            del self._hits[address]
        if len(self._hits) >= _MAX_ADDRESSES:
            # Still full of active addresses: forget the oldest half rather than grow.
            for address in list(self._hits)[: _MAX_ADDRESSES // 2]:
                del self._hits[address]
