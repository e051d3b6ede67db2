"""Which of a site's servers the relay asks first. It sticks to the one that answered last
(the servers share one database, so any of them will do, and a server that answers keeps
its caches warm), moves on to the next when one stays silent for its share of the resend
schedule, and leaves a silent server at the end of the order for a back-off before it is
asked early again."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

Address = tuple[str, int]

# Seconds a server that did not answer stays last in the order.
BACKOFF = 30.0
# Sends to one server before the relay moves on to the next, when a site has several:
# 4 at the default 0.5 s is 2 s of silence (a lost datagram or two is not a dead server).
SENDS_PER_SERVER = 4


@dataclass
class Failover:
    backoff: float = BACKOFF
    clock: Callable[[], float] = time.monotonic
    # Per site: the server that answered last.
    _live: dict[str, Address] = field(default_factory=dict)
    # Per server: until when it is asked last.
    _silent_until: dict[Address, float] = field(default_factory=dict)

    def order(self, vdir: str, servers: Sequence[Address]) -> list[Address]:
        """`servers` in the order to ask them: the live one, the others as configured, and
        those in their back-off last."""
        now = self.clock()
        live = self._live.get(vdir)
        return sorted(servers, key=lambda s: (self._silent_until.get(s, 0.0) > now, s != live))

    def live(self, vdir: str) -> Address | None:
        """The server of `vdir` that answered last."""
        return self._live.get(vdir)

    def answered(self, vdir: str, server: Address) -> None:
        self._live[vdir] = server
        self._silent_until.pop(server, None)

    def silent(self, server: Address) -> None:
        self._silent_until[server] = self.clock() + self.backoff
