"""A request the backend is handling when it is told to stop is finished and answered
before the socket closes: the user whose enrollment (or reset) was done hears so, instead
of "server unreachable" (found while fuzzing the datagram handler, issue 9)."""

from __future__ import annotations

import socket
import time

from pwreset.config.schema import parse_address
from pwreset.protocol.sealing import open_reply

from support.flowstack import ANSWERS, PASSWORD, QUESTIONS


def test_a_request_in_flight_is_answered_when_the_server_stops(flows, user, caplog):
    stack = flows()
    body = {
        "domain": stack.domain,
        "username": user,
        "password": PASSWORD,
        "answers": [{"question": q, "answer": a} for q, a in zip(QUESTIONS, ANSWERS, strict=False)],
    }
    datagram, reply_key = stack.seal("enroll", body)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(datagram, parse_address(stack.config.server.listen))
        time.sleep(0.05)  # received, and busy binding and hashing three answers
        stack.stop()
        sock.settimeout(5)
        reply = open_reply(sock.recv(65536), reply_key)
    assert reply.result == {"status": "done", "message": "RES_FINISHED_ENROLL"}
    assert stack.record(user) is not None
    assert "could not be answered" not in caplog.text
    assert "was not sent" not in caplog.text
