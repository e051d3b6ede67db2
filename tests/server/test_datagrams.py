"""The backend process rejects bad datagrams, logs why, and keeps serving."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from pwreset.protocol.keys import generate_private_key
from pwreset.protocol.messages import Request
from pwreset.protocol.sealing import open_reply, seal_request
from pwreset.server.service import MAX_PENDING_PER_WORKER

from support.backend import Backend, start_backend


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    server = start_backend(tmp_path_factory.mktemp("backend"))
    yield server
    server.stop()


def _wait_for(backend: Backend, text: str) -> None:
    deadline = time.monotonic() + 5
    while text not in backend.log():
        assert time.monotonic() < deadline, f"{text!r} not logged:\n{backend.log()}"
        time.sleep(0.05)


def test_a_valid_ping_is_answered(backend):
    request, datagram, reply_key = backend.ping()
    reply = open_reply(backend.send(datagram), reply_key)
    assert reply.request_id == request.request_id
    assert reply.result and reply.result["pong"] is True


def test_flipped_bit_is_rejected_and_logged(backend):
    _, datagram, _ = backend.ping()
    tampered = bytearray(datagram)
    tampered[len(tampered) // 2] ^= 0x01
    assert backend.send(bytes(tampered), 0.5) is None
    _wait_for(backend, "bad_seal")


def test_wrong_server_key_is_rejected_and_logged(backend):
    other = generate_private_key().public_key()
    datagram, _ = seal_request(
        Request(op="ping", vdir="pwreset", client_ip="127.0.0.1", body={}),
        other,
        relay_key=backend.relay_key,
    )
    assert backend.send(datagram, 0.5) is None
    _wait_for(backend, "unknown_key")


def test_stale_request_is_rejected_and_logged(backend):
    _, datagram, _ = backend.ping(timestamp=time.time() - 3600)
    assert backend.send(datagram, 0.5) is None
    _wait_for(backend, "stale")


def test_oversized_datagram_is_rejected_and_logged(backend):
    assert backend.send(b"\x00" * 40000, 0.5) is None
    _wait_for(backend, "oversized")


@contextmanager
def _relay_socket(backend: Backend) -> Iterator[socket.socket]:
    """One UDP socket, as the relay uses for one exchange and all its retries."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(1.0)
        sock.connect(("127.0.0.1", backend.port))
        yield sock


def _receive(sock: socket.socket, wait: float = 1.0) -> bytes | None:
    sock.settimeout(wait)
    try:
        return sock.recv(65536)
    except TimeoutError:
        return None


def test_retry_is_answered_but_a_replayed_request_id_is_not(backend):
    request, datagram, reply_key = backend.ping()
    with _relay_socket(backend) as sock:
        sock.send(datagram)
        assert _receive(sock) is not None
        # The same datagram again is a retry: answered from the reply cache.
        sock.send(datagram)
        assert open_reply(_receive(sock), reply_key).request_id == request.request_id
        # A new seal of the same request id is a replay.
        again, _ = backend.seal(request)
        sock.send(again)
        assert _receive(sock, 0.5) is None
    _wait_for(backend, "replayed")


def test_a_cached_reply_never_reaches_a_second_address(backend):
    """security review 2: a retry from another address than the request's gets nothing,
    so the reply cache cannot reflect (and amplify) replies to a forged source."""
    request, datagram, reply_key = backend.ping()
    with _relay_socket(backend) as relay, _relay_socket(backend) as victim:
        relay.send(datagram)
        first = _receive(relay)
        assert open_reply(first, reply_key).request_id == request.request_id
        victim.send(datagram)  # what a spoofed source address amounts to
        assert _receive(victim) is None
        _wait_for(backend, "misdirected_retry")
        # The relay's own retry is still answered, with the very same reply.
        relay.send(datagram)
        assert _receive(relay) == first
        assert _receive(victim, 0.3) is None


def test_a_request_sealed_without_the_relay_key_is_refused(backend):
    """security review 2: holding the public key is not enough to be served."""
    _, datagram, _ = backend.ping(authenticated=False)
    assert backend.send(datagram, 0.5) is None
    _wait_for(backend, "bad_seal")


def test_server_keeps_serving_after_bad_datagrams(backend):
    for junk in (b"", b"PWR", os.urandom(200)):
        backend.send(junk, 0.1)
    request, datagram, reply_key = backend.ping()
    assert open_reply(backend.send(datagram), reply_key).request_id == request.request_id
    assert backend.process.poll() is None


def test_a_flood_of_bad_datagrams_does_not_fill_the_log(tmp_path):
    """security review, attacker pass: anyone who reaches the port (no key needed) wrote a
    log line per bad datagram, so a flood filled the disk the database lives on. Each
    reason is logged once a minute, the rest summed up; the server keeps serving."""
    server = start_backend(tmp_path / "flooded")
    try:
        _, valid, _ = server.ping(authenticated=False)
        floods = [os.urandom(200), b"PWR", valid]  # malformed, too short, without relay key
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for n in range(1500):
                sock.sendto(floods[n % 3], ("127.0.0.1", server.port))
                if n % 50 == 0:
                    time.sleep(0.005)  # within what the socket buffers
        request, datagram, reply_key = server.ping()
        assert open_reply(server.send(datagram), reply_key).request_id == request.request_id
        lines = [line for line in server.log().splitlines() if "rejected" in line]
        assert 1 <= len(lines) <= 3, "\n".join(lines[:10])
    finally:
        server.stop()


def test_a_flood_of_requests_is_held_to_a_bounded_queue(tmp_path):
    """security review, attacker pass: a relay-key holder (a stolen DMZ host) sending faster
    than the workers answer had every request queued in memory without limit, each run
    long after its relay gave up. Past MAX_PENDING_PER_WORKER per worker datagrams are
    dropped unanswered, and the server answers again as soon as there is room."""
    settings = 'relay_key_file = "keys/relay.key"\nworkers = 1'
    server = start_backend(tmp_path / "flooded", server_settings=settings)
    try:
        flood = 3 * MAX_PENDING_PER_WORKER
        # Steps of an expired flow: quick to handle, then held to the reply floor.
        steps = [
            server.seal(
                Request(op="reset.step", vdir="pwreset", client_ip="192.0.2.1",
                        body={"flow": f"expired{n}", "answer": "x"})
            )[0]
            for n in range(flood)
        ]  # fmt: skip
        with _relay_socket(server) as relay:
            for n, datagram in enumerate(steps):
                relay.send(datagram)
                if n % 20 == 0:
                    time.sleep(0.002)  # within what the socket buffers
            answered = 0
            while _receive(relay, 2.0) is not None:
                answered += 1
        # Each is held to the reply floor, so no more than the cap were taken on.
        assert 0 < answered <= MAX_PENDING_PER_WORKER
        _wait_for(server, "overloaded")
        request, datagram, reply_key = server.ping()
        assert open_reply(server.send(datagram), reply_key).request_id == request.request_id
    finally:
        server.stop()


def test_exchange_client_retries_reach_the_backend(backend):
    from pwreset.protocol.client import exchange

    request = Request(op="ping", vdir="pwreset", client_ip="127.0.0.1", body={})
    reply = asyncio.run(
        exchange(request, ("127.0.0.1", backend.port), backend.key, relay_key=backend.relay_key)
    )
    assert reply.result and reply.result["pong"] is True
