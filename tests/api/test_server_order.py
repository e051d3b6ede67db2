"""The relay's choice among a site's servers: the one that answered last first, a silent
one last until its back-off has passed."""

from __future__ import annotations

from pwreset.api.failover import Failover

A, B, C = ("10.0.0.1", 5100), ("10.0.0.2", 5100), ("10.0.0.3", 5100)


class _Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_relay_sticks_to_the_server_that_answered_and_asks_a_silent_one_last() -> None:
    clock = _Clock()
    failover = Failover(backoff=30.0, clock=clock)
    assert failover.order("hr", [A, B, C]) == [A, B, C]  # as configured, at first
    failover.silent(A)
    failover.answered("hr", B)
    assert failover.order("hr", [A, B, C]) == [B, C, A]
    assert failover.order("it", [A, C]) == [C, A]  # a silent server is silent for every site
    clock.now += 31.0  # its back-off is over, but the live one is still asked first
    assert failover.order("hr", [A, B, C]) == [B, A, C]
    failover.silent(B)
    failover.answered("hr", C)
    assert failover.order("hr", [A, B, C]) == [C, A, B]
