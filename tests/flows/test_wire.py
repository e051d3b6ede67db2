"""The wire as someone on the relay's path uses it: datagrams replayed after a restart, and
requests sealed without the relay key (only served when the admin opts out)."""

from __future__ import annotations

from typing import Any

from pwreset.protocol.sealing import open_reply

from support.flowstack import PASSWORD
from support.stacks import secret


def _code(reply: Any) -> str:
    assert reply.status_code >= 400, reply.text
    return str(reply.json()["code"])


def test_a_datagram_replayed_after_a_restart_is_refused(flows, user):
    """security review, low: the replay guard survives a restart, so a captured wrong
    answer (or any other effect) sent again to the restarted server is not applied again."""
    stack = flows()
    assert stack.enroll(user).status_code == 200
    started = stack.start("reset", user)
    assert started.status_code == 200, started.text
    token = started.json()["flow"]
    datagram, reply_key = stack.seal("reset.step", {"flow": token, "answer": secret("nope")})
    reply = stack.send_datagram(datagram)
    assert reply is not None
    failure = open_reply(reply, reply_key).failure
    assert failure is not None and failure.code == "wrong_answer"
    assert stack.record(user).wrong_answers == 1

    stack = stack.restart()
    assert stack.send_datagram(datagram, wait=1.5) is None  # refused as a replay
    assert stack.record(user).wrong_answers == 1
    # The restarted server serves fresh requests on the same flow.
    assert _code(stack.step("reset", token, answer="still wrong")) == "wrong_answer"
    assert stack.record(user).wrong_answers == 2


def _change_row(stack: Any, user: str, *, authenticated: bool) -> Any:
    """Send a change with a wrong password claiming an end-user address and a web user,
    sealed with or without the relay key; the audit row it left."""
    body = {
        "domain": stack.domain,
        "username": user,
        "old_password": secret("Not-the-Passw0rd"),
        "new_password": secret("Never-Set-1!x"),
        "web_user": "CORP\\helpdesk",
    }
    before = len(stack.audit(user))
    datagram, reply_key = stack.seal(
        "change", body, authenticated=authenticated, client_ip="198.51.100.7"
    )
    reply = stack.send_datagram(datagram)
    assert reply is not None
    failure = open_reply(reply, reply_key).failure
    assert failure is not None and failure.code == "wrong_password"
    rows = stack.audit(user)
    assert len(rows) == before + 1
    return rows[-1]


def test_client_ip_and_web_user_are_believed_only_from_an_authenticated_relay(flows, user):
    """security review 2: with unauthenticated relays allowed, a request sealed without
    the relay key is served, but its client address and web user never reach the audit."""
    stack = flows(server={"allow_unauthenticated_relays": True})
    row = _change_row(stack, user, authenticated=False)
    assert (row.ip, row.web_user) == ("", "")
    row = _change_row(stack, user, authenticated=True)
    assert (row.ip, row.web_user) == ("198.51.100.7", "CORP\\helpdesk")
    assert stack.admin.bind_ok(user, PASSWORD)  # the wrong passwords changed nothing
