"""The log of rejected datagrams: a line per reason and minute, then one summary."""

from __future__ import annotations

import logging

from pwreset.server.rejections import INTERVAL, RejectionLog


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_reason_is_logged_once_a_minute_and_the_rest_summed_up(caplog):
    """security review, attacker pass: a flood of bad datagrams is not a line each."""
    clock = _Clock()
    rejections = RejectionLog(logging.getLogger("pwreset.test.rejections"), clock)
    with caplog.at_level(logging.WARNING, "pwreset.test.rejections"):
        for _ in range(1000):
            rejections.note("bad_seal", ("192.0.2.7", 4000), 300)
        rejections.note("stale", ("192.0.2.8", 4000), 300)
        assert [r.getMessage() for r in caplog.records] == [
            "rejected a datagram from 192.0.2.7:4000 (300 bytes): bad_seal",
            "rejected a datagram from 192.0.2.8:4000 (300 bytes): stale",
        ]
        assert rejections.pending
        clock.now += INTERVAL
        rejections.flush()
        assert caplog.records[-1].getMessage() == (
            "rejected 999 more datagram(s) in the last 60 seconds, not logged one by one: "
            "bad_seal 999"
        )
        assert not rejections.pending
        # A new minute: the first rejection is logged with its sender again.
        rejections.note("bad_seal", ("192.0.2.9", 4000), 300)
        assert caplog.records[-1].getMessage().endswith("192.0.2.9:4000 (300 bytes): bad_seal")
