"""The sender (pwreset.server.siem.sender): a flow's offer never waits and never raises,
whatever the destination does; drops are counted and logged at a rate limit; a destination
that fails is tried again until it takes the event, in order."""

from __future__ import annotations

import logging
import threading

from pwreset.server.siem.events import classify
from pwreset.server.siem.messages import Exported
from pwreset.server.siem.sender import WARN_EVERY, Sender
from pwreset.server.storage import AuditEvent


def _item(n: int) -> Exported:
    row = AuditEvent("failure", "reset", f"user{n}", "D", "wrong answer to question 1")
    kind, restored = classify(row)
    return Exported(row, kind, restored, "")


class Stuck:
    """A receiver that takes the first event and never returns (a hung connection)."""

    name = "stuck"

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started = threading.Event()

    def send(self, item: Exported) -> None:
        self.started.set()
        self.release.wait()
        raise OSError("gave up")

    def close(self) -> None:
        pass


class Flaky:
    """Fails `failures` times, then takes everything."""

    name = "flaky"

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.got: list[str] = []
        self.done = threading.Event()

    def send(self, item: Exported) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionRefusedError("refused")
        self.got.append(item.row.user)
        if len(self.got) == 3:
            self.done.set()

    def close(self) -> None:
        pass


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_full_queue_drops_and_counts_without_waiting_and_warns_once_a_minute(caplog):
    stuck, clock = Stuck(), Clock()
    sender = Sender(stuck, queue_size=10, clock=clock)
    sender.offer(_item(0))
    assert stuck.started.wait(5)  # the first is being sent, and hangs
    with caplog.at_level(logging.WARNING, "pwreset.siem"):
        for n in range(1, 1001):
            sender.offer(_item(n))  # returns at once, although nothing more is sent
        assert sender.dropped == 1000 - 10
        warnings = [r.getMessage() for r in caplog.records]
        assert len(warnings) == 1 and "1 audit event(s) dropped" in warnings[0]
        clock.now += WARN_EVERY
        sender.offer(_item(1001))
        assert "990 audit event(s) dropped" in caplog.records[-1].getMessage()
        assert len(caplog.records) == 2
    stuck.release.set()
    sender.close(timeout=0.5)


def test_a_failing_destination_gets_every_event_in_order_once_it_recovers(caplog):
    flaky = Flaky(failures=3)
    sender = Sender(flaky, queue_size=10, retry_first=0.01, retry_most=0.02)
    with caplog.at_level(logging.WARNING, "pwreset.siem"):
        for n in range(3):
            sender.offer(_item(n))
        assert flaky.done.wait(5)
    assert flaky.got == ["user0", "user1", "user2"]
    assert sender.dropped == 0
    messages = [r.getMessage() for r in caplog.records]
    assert "flaky: not reachable (ConnectionRefusedError: refused)" in messages[0]
    assert len([m for m in messages if "not reachable" in m]) == 1  # once a minute at most
    assert "reachable again" in messages[-1]
    sender.close()


def test_shutdown_with_a_dead_destination_is_bounded_and_counts_what_was_left(caplog):
    stuck = Stuck()
    sender = Sender(stuck, queue_size=10, retry_most=0.05)
    for n in range(4):
        sender.offer(_item(n))
    assert stuck.started.wait(5)
    stuck.release.set()  # the send fails from now on; the sender keeps trying
    stuck.release = threading.Event()
    with caplog.at_level(logging.WARNING, "pwreset.siem"):
        sender.close(timeout=0.2)
    assert sender.dropped == 4
    assert any("not sent at shutdown" in r.getMessage() for r in caplog.records)
