"""The outbox's bound on failure alerts (each costs a directory look-up after the reply): a
flood of failing requests cannot queue work without end, while codes and success alerts are
never dropped."""

from __future__ import annotations

import logging
import threading
import time

from pwreset.server.flows import outbox
from pwreset.server.flows.outbox import Outbox

from support.flowstack import PASSWORD

ALERT = {"on": "both", "to": "[AD_OR_APR_EMAIL]",
         "text": {"en": {"subject": "Self-service", "body": "[AD_USER]"}}}  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_failure_alerts_past_the_backlog_are_dropped_and_logged_once_a_minute(caplog):
    clock = Clock()
    box = Outbox(max_droppable=2, clock=clock)
    gate = threading.Event()
    ran: list[str] = []
    try:
        with caplog.at_level(logging.WARNING, "pwreset.server"):
            assert box.submit_droppable("failure alerts", lambda: (gate.wait(5), ran.append("a")))
            assert box.submit_droppable("failure alerts", lambda: (gate.wait(5), ran.append("b")))
            # Both threads are busy and two wait: the flood's next ones are dropped.
            dropped = [box.submit_droppable("failure alerts", lambda: ran.append("x"))
                       for _ in range(1000)]  # fmt: skip
            assert not any(dropped)
            # A code or a success alert is never dropped.
            box.submit(ran.append, "code")
            clock.now += 61
            assert not box.submit_droppable("failure alerts", lambda: ran.append("y"))
        lines = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
        assert lines == [
            "1 failure alerts dropped: 2 are waiting to be sent already (a flood of failing "
            "requests?)",
            "1000 failure alerts dropped: 2 are waiting to be sent already (a flood of failing "
            "requests?)",
        ]
        gate.set()
    finally:
        gate.set()
        box.shutdown()
    assert sorted(ran) == ["a", "b", "code"]
    # Once the backlog is sent, failure alerts are taken again.
    box = Outbox(max_droppable=2, clock=clock)
    assert box.submit_droppable("failure alerts", lambda: ran.append("again"))
    box.shutdown()
    assert ran[-1] == "again"


def test_a_full_backlog_drops_the_failure_alert_not_the_success_alert(
    flows, user, monkeypatch, caplog
):
    """A server whose failure-alert backlog is full (0 here, as under a flood): the failed
    change sends no alert and says so in the log; the change that works still sends its
    alert."""
    monkeypatch.setattr(outbox, "MAX_DROPPABLE", 0)
    stack = flows(alerts={"change": ALERT})
    body = {"domain": stack.domain, "username": user, "new_password": "Fail!Alert-Passw0rd-1"}
    with caplog.at_level(logging.WARNING, "pwreset.server"):
        wrong = stack.post("change", {**body, "old_password": "Wrong!Passw0rd-9"})
    assert wrong.status_code == 401
    assert "1 failure alerts dropped" in caplog.text
    assert stack.post("change", {**body, "old_password": PASSWORD}).status_code == 200
    stack.smtp.wait_for(1)
    time.sleep(0.7)  # long enough for a second mail to show
    assert len(stack.smtp.messages) == 1  # the success alert: the failure's was never queued
    assert any(row.event == "wrong current password" for row in stack.audit(user))


def test_what_a_request_queues_runs_under_its_request_id():
    """Log lines and audit rows written after the reply name the request that queued them
    (docs/operations.md, "JSON logs and request ids")."""
    from pwreset.protocol.trace import current_trace

    box = Outbox()
    seen: list[str] = []
    done = threading.Semaphore(0)

    def task() -> None:
        seen.append(current_trace.get())
        done.release()

    token = current_trace.set("req-42")
    try:
        box.submit(task)
        box.submit_droppable("alert", task)
    finally:
        current_trace.reset(token)
    assert done.acquire(timeout=5) and done.acquire(timeout=5)
    assert seen == ["req-42", "req-42"]
