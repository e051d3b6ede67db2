"""A lone surrogate spelled as a JSON escape (no encoder sends one: UTF-8 cannot hold it)
is refused when the datagram is opened, before any flow tries to write it (found by the
datagram fuzzer, issue 9: the audit row of such a request was lost)."""

from __future__ import annotations

import json
import os
import time

from pwreset.protocol.sealing import _seal_request_plaintext, open_reply

from support.backend import start_backend


def _sealed(backend, body: dict[str, str], op: str = "change"):
    request_id = os.urandom(16)
    plaintext = {
        "request_id": request_id.hex(),
        "timestamp": time.time(),
        "op": op,
        "vdir": "pwreset",
        "client_ip": "192.0.2.1",
        "body": body,
    }
    raw = json.dumps(plaintext).encode()  # ensure_ascii: a surrogate becomes \udXXX
    return _seal_request_plaintext(raw, request_id, backend.key, backend.relay_key, 32768)


def test_a_lone_surrogate_is_dropped_before_the_audit(tmp_path):
    backend = start_backend(tmp_path)
    try:
        body = {"domain": "EXAMPLE", "username": "alice", "old_password": "a",
                "new_password": "b", "web_user": "eve\ud800"}  # fmt: skip
        datagram, _ = _sealed(backend, body)
        assert backend.send(datagram, 0.5) is None
        deadline = time.monotonic() + 5
        while "bytes): malformed" not in backend.log():
            assert time.monotonic() < deadline, backend.log()
            time.sleep(0.05)
        assert "could not write the audit event" not in backend.log()
        # A whole character (an escaped surrogate pair) is text like any other.
        datagram, reply_key = _sealed(backend, {"web_user": "eve\U0001f600"}, "ping")
        reply = open_reply(backend.send(datagram), reply_key)
        assert reply.result is not None and reply.result["pong"] is True
    finally:
        backend.stop()
