"""The audit export for SIEMs (docs/operations.md, "Audit export"): the audited outcomes of
real flows reach the test's own syslog receiver on loopback, over UDP, TCP and TLS, each
with its fixed event id, RFC 5424 header and structured data; a receiver that does not
answer neither fails nor holds up a flow, and gets what it missed once it is back."""

from __future__ import annotations

import json
import os
import socket
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.x509.oid import ExtendedKeyUsageOID

from support.flowstack import ANSWERS, END_USER_IP, PASSWORD
from support.smtp import make_test_tls
from support.syslog import SyslogMessage, SyslogReceiver

NEW = "Siem!Passw0rd-7"
AUTHPRIV = 10
NOTICE, WARNING = 5, 4


@pytest.fixture
def kind() -> str:
    """The export is the same whatever the directory: OpenLDAP only, to keep the suite short."""
    return "openldap"


def _reset_with_one_wrong_answer(stack: Any, user: str) -> dict[str, str]:
    """Enroll, one wrong answer, then a reset; the request id of each outcome's request."""
    enrolled = stack.enroll(user)
    assert enrolled.status_code == 200, enrolled.text
    started = stack.start("reset", user)
    wrong = stack.step("reset", started.json()["flow"], answer="not the answer at all")
    assert wrong.json()["code"] == "wrong_answer"
    reply = stack.answer_all("reset", user)
    done = stack.step("reset", reply.json()["flow"], new_password=NEW)
    assert done.status_code == 200, done.text
    return {
        "ENROLLED": enrolled.headers["X-Request-ID"],
        "RESET_WRONG_ANSWER": wrong.headers["X-Request-ID"],
        "RESET_DONE": done.headers["X-Request-ID"],
    }


def _mine(user: str) -> Any:
    return lambda m: m.param("user") == user


@pytest.mark.parametrize("transport", ["udp", "tcp", "tls"])
def test_each_outcome_reaches_the_receiver_with_its_event_id(flows, user, tmp_path, transport):
    syslog: dict[str, Any] = {"transport": transport, "hostname": "pwreset-test"}
    tls = client = None
    if transport == "tls":
        # The receiver's certificate is checked, and it asks for pwreset's own.
        tls = make_test_tls(tmp_path / "tls")
        client = make_test_tls(
            tmp_path / "client", "client CA", ("pwreset-test",), ExtendedKeyUsageOID.CLIENT_AUTH
        )
        syslog |= {
            "ca_file": str(tls.ca_file),
            "server_name": "localhost",
            "cert_file": str(client.cert_file),
            "key_file": str(client.key_file),
        }
    json_file = tmp_path / "audit.jsonl"
    receiver = SyslogReceiver(transport, tls=tls, client_ca=client.ca_file if client else None)
    with receiver:
        syslog["address"] = receiver.address
        stack = flows(siem={"syslog": syslog, "json_file": str(json_file)})
        requests = _reset_with_one_wrong_answer(stack, user)
        rows = stack.audit(user)
        got = receiver.wait_for(_mine(user), count=len(rows))
    # Every audited outcome, once, with the id of its kind.
    assert sorted(m.param("event") or "" for m in got) == sorted(r.event for r in rows)
    by_msgid = {m.msgid: m for m in got}
    expected = {"ENROLLED": (1000, NOTICE), "RESET_WRONG_ANSWER": (2100, WARNING),
                "RESET_DONE": (2000, NOTICE)}  # fmt: skip
    for msgid, (event_id, severity) in expected.items():
        message = by_msgid[msgid]
        assert message.param("event_id") == str(event_id)
        assert (message.facility, message.severity) == (AUTHPRIV, severity)
        assert message.param("request_id") == requests[msgid]
        _check_header(message)
        assert message.param("domain") == stack.domain
        assert message.param("ip") == END_USER_IP
    assert by_msgid["RESET_WRONG_ANSWER"].param("event") == "wrong answer to question 1"
    assert by_msgid["RESET_DONE"].param("outcome") == "success"
    # Never a secret, in any message.
    for message in receiver.messages:
        for secret in (PASSWORD, NEW, *ANSWERS):
            assert secret.encode() not in message.raw
    # The same events as JSON lines.
    lines = [json.loads(line) for line in json_file.read_text().splitlines()]
    mine = {line["msgid"]: line for line in lines if line.get("user") == user}
    assert {k: v["event_id"] for k, v in mine.items() if k in expected} == {
        k: v[0] for k, v in expected.items()
    }
    assert mine["RESET_DONE"]["request_id"] == requests["RESET_DONE"]


def _check_header(message: SyslogMessage) -> None:
    assert message.version == 1
    assert message.hostname == "pwreset-test"
    assert message.app_name == "pwreset"
    assert message.procid == str(os.getpid())  # the backend runs in this process
    stamp = datetime.fromisoformat(message.timestamp.replace("Z", "+00:00"))
    assert stamp.tzinfo is not None and abs(stamp - datetime.now(UTC)).total_seconds() < 300
    assert message.sd["origin"]["software"] == "pwreset"
    assert message.param("user") in message.msg


def test_a_receiver_that_does_not_answer_neither_fails_nor_holds_up_a_flow(
    flows, user, tmp_path: Path
):
    tls = make_test_tls(tmp_path / "tls")
    # Takes connections and never answers the TLS handshake: a send waits its whole timeout.
    silent = socket.socket()
    silent.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    port = silent.getsockname()[1]
    syslog = {"address": f"127.0.0.1:{port}", "ca_file": str(tls.ca_file), "timeout": 60}
    stack = flows(siem={"syslog": syslog})
    # A send inside the flow would hold each reply for a minute: the relay gives up long before.
    enrolled = stack.enroll(user)
    assert enrolled.status_code == 200, enrolled.text
    started = stack.start("reset", user)
    wrong = stack.step("reset", started.json()["flow"], answer="not the answer at all")
    assert wrong.json()["code"] == "wrong_answer"
    # Stored whatever becomes of the export.
    assert [r.event for r in stack.audit(user)] == ["enrolled", "wrong answer to question 1"]
    silent.close()
    # Back on the same port: what waited is sent, in order, after a reconnect.
    with SyslogReceiver("tls", tls=tls, port=port) as receiver:
        got = receiver.wait_for(_mine(user), count=2, timeout=20)
    assert [m.msgid for m in got] == ["ENROLLED", "RESET_WRONG_ANSWER"]


def test_a_syslog_receiver_that_restarts_loses_nothing_sent_after(flows, user, tmp_path):
    """A TCP receiver restarted between two outcomes: the second reaches the new one (a
    write into the connection the old one closed would vanish without an error)."""
    receiver = SyslogReceiver("tcp")
    port = receiver.port
    stack = flows(siem={"syslog": {"address": receiver.address, "transport": "tcp"}})
    with receiver:
        assert stack.enroll(user).status_code == 200
        receiver.wait_for(_mine(user))
    time.sleep(0.1)  # the close reaches the sender's side of the connection
    with SyslogReceiver("tcp", port=port) as again:
        started = stack.start("reset", user)
        stack.step("reset", started.json()["flow"], answer="not the answer at all")
        [message] = again.wait_for(_mine(user), timeout=20)
    assert message.msgid == "RESET_WRONG_ANSWER"


def test_a_request_id_is_believed_only_from_an_authenticated_relay(flows, user, tmp_path):
    """Like the end user's address: a datagram sealed without the relay key (served only
    because unauthenticated relays are allowed) does not choose the id its events carry."""
    json_file = tmp_path / "audit.jsonl"
    stack = flows(server={"allow_unauthenticated_relays": True}, siem={"json_file": str(json_file)})
    body = {"domain": stack.domain, "username": user, "old_password": "Not-the-Passw0rd",
            "new_password": "Never-Set-1!x", "trace_id": "chosen-by-the-sender"}  # fmt: skip
    for authenticated in (False, True):
        datagram, _ = stack.seal("change", body, authenticated=authenticated)
        assert stack.send_datagram(datagram) is not None
    deadline = time.monotonic() + 10
    while len(lines := json_file.read_text().splitlines() if json_file.exists() else []) < 2:
        assert time.monotonic() < deadline, lines
        time.sleep(0.05)
    unauthenticated, authenticated = (json.loads(line) for line in lines)
    assert unauthenticated["msgid"] == authenticated["msgid"] == "CHANGE_WRONG_PASSWORD"
    assert unauthenticated["request_id"] != "chosen-by-the-sender"
    assert authenticated["request_id"] == "chosen-by-the-sender"
