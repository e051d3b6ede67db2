"""The backend refuses a sealed request nested deeper than its JSON parser can go, and
keeps serving (security review, low: deeply nested JSON)."""

from __future__ import annotations

import time

import pytest

from pwreset.protocol import sealing
from pwreset.protocol.errors import MalformedDatagram
from pwreset.protocol.messages import decode_request
from pwreset.protocol.sealing import open_reply

from support.backend import start_backend


def _plaintext(body: bytes, request_id: bytes = b"\xab" * 16) -> bytes:
    head = f'{{"request_id":"{request_id.hex()}","timestamp":{time.time()},'
    head += '"op":"change","vdir":"pwreset","client_ip":"192.0.2.1","body":'
    return head.encode() + body + b"}"


def test_decoding_a_deep_body_is_a_malformed_datagram():
    """security review, low: no RecursionError escapes the decoder."""
    deep = b'{"a":' * 20000 + b"1" + b"}" * 20000
    with pytest.raises(MalformedDatagram, match="RecursionError"):
        decode_request(_plaintext(deep))


def test_the_backend_drops_a_deep_request_and_keeps_serving(tmp_path, monkeypatch):
    """security review, low: a relay (or anyone with the key) sending deep JSON gets no
    crash of the service; the datagram is logged as malformed."""
    backend = start_backend(tmp_path)
    try:
        request, _, _ = backend.ping()
        deep = b"[" * 15000 + b"]" * 15000
        # The encoder refuses such a body; seal the raw plaintext as a hostile sender would.
        monkeypatch.setattr(sealing, "encode_request", lambda r: _plaintext(deep, r.request_id))
        datagram, _ = backend.seal(request)
        monkeypatch.undo()
        assert backend.send(datagram, 0.5) is None
        deadline = time.monotonic() + 5
        while "bytes): malformed" not in backend.log():
            assert time.monotonic() < deadline, backend.log()
            time.sleep(0.05)
        # Just under the limit it decodes, and is answered with a plain refusal.
        shallow = b'{"username":' + b"[" * 500 + b"]" * 500 + b"}"
        monkeypatch.setattr(sealing, "encode_request", lambda r: _plaintext(shallow, r.request_id))
        request, _, _ = backend.ping()
        datagram, reply_key = backend.seal(request)
        monkeypatch.undo()
        reply = open_reply(backend.send(datagram), reply_key)
        assert reply.failure is not None and reply.failure.code != "server_error"
        _, ping, ping_key = backend.ping()
        pong = open_reply(backend.send(ping), ping_key).result
        assert pong is not None and pong["pong"] is True
    finally:
        backend.stop()
