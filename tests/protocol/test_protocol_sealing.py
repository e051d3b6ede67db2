"""Sealed datagrams: round trips, and every way a datagram can be wrong is refused."""

from __future__ import annotations

import os
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from pwreset.protocol.keys import Keyring, generate_private_key
from pwreset.protocol.messages import Failure, Reply, Request
from pwreset.protocol.replay import ReplayGuard
from pwreset.protocol.sealing import (
    MAX_DATAGRAM,
    BadSeal,
    MalformedDatagram,
    OversizedDatagram,
    ProtocolError,
    ReplayedRequest,
    ReplyKey,
    StaleRequest,
    UnknownKeyId,
    UnsupportedVersion,
    open_reply,
    open_request,
    seal_reply,
    seal_request,
)

SERVER = generate_private_key()
SERVER_PUBLIC = SERVER.public_key()
KEYRING = Keyring([SERVER])
RELAY_KEY = os.urandom(32)

# --- strategies ---------------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=16,
)
bodies = st.dictionaries(st.text(max_size=12), json_values, max_size=6)
request_ids = st.binary(min_size=16, max_size=16)
requests = st.builds(
    Request,
    op=st.text(min_size=1, max_size=64),
    vdir=st.text(max_size=64),
    client_ip=st.ip_addresses().map(str),
    body=bodies,
    request_id=request_ids,
    timestamp=st.floats(min_value=0, max_value=4e9),
)
failures = st.builds(
    Failure,
    code=st.text(min_size=1, max_size=64),
    detail=st.text(max_size=200),
    params=st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=4),
)
relay_keys = st.none() | st.just(RELAY_KEY)


def _reply_to(request: Request, result: dict[str, Any] | None, failure: Failure | None) -> Reply:
    if failure is not None:
        return Reply(request.request_id, failure=failure)
    return Reply(request.request_id, result=result or {})


def _flip(datagram: bytes, bit: int) -> bytes:
    data = bytearray(datagram)
    data[bit // 8] ^= 1 << (bit % 8)
    return bytes(data)


def _sealed_pair() -> tuple[Request, bytes, ReplyKey, bytes, ReplyKey]:
    request = Request(op="change", vdir="hr", client_ip="192.0.2.1", body={"user": "alice"})
    datagram, client_key = seal_request(request, SERVER_PUBLIC, relay_key=RELAY_KEY)
    _, server_key = open_request(datagram, KEYRING, relay_key=RELAY_KEY)
    reply = seal_reply(Reply(request.request_id, result={"status": "done"}), server_key)
    return request, datagram, client_key, reply, server_key


# --- round trips --------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    request=requests,
    result=bodies,
    failure=st.none() | failures,
    relay_key=relay_keys,
)
def test_round_trip(
    request: Request, result: dict[str, Any], failure: Failure | None, relay_key: bytes | None
) -> None:
    datagram, client_key = seal_request(request, SERVER_PUBLIC, relay_key=relay_key)
    opened, server_key = open_request(datagram, KEYRING, relay_key=relay_key)
    assert opened == request
    reply = _reply_to(request, result, failure)
    assert open_reply(seal_reply(reply, server_key), client_key) == reply


def test_every_request_uses_a_fresh_ephemeral_key() -> None:
    request = Request(op="ping", vdir="", client_ip="", body={})
    first, _ = seal_request(request, SERVER_PUBLIC)
    second, _ = seal_request(request, SERVER_PUBLIC)
    assert first[14:46] != second[14:46]
    assert first[:14] == second[:14]  # header: magic, version, type, key id


def test_rotated_keys_are_all_accepted() -> None:
    new = generate_private_key()
    ring = Keyring([new, SERVER])
    for public in (new.public_key(), SERVER_PUBLIC):
        request = Request(op="ping", vdir="", client_ip="", body={})
        datagram, _ = seal_request(request, public)
        assert open_request(datagram, ring)[0] == request


def test_reply_key_repr_hides_the_key() -> None:
    _, _, client_key, _, _ = _sealed_pair()
    text = repr(client_key)
    assert client_key._key.hex() not in text
    assert client_key.request_id.hex() in text


# --- tampering ----------------------------------------------------------------------------


def test_every_single_bit_flip_of_a_request_is_refused() -> None:
    _, datagram, _, _, _ = _sealed_pair()
    for bit in range(len(datagram) * 8):
        with pytest.raises(ProtocolError):
            open_request(_flip(datagram, bit), KEYRING, relay_key=RELAY_KEY)


def test_every_single_bit_flip_of_a_reply_is_refused() -> None:
    _, _, client_key, reply, _ = _sealed_pair()
    for bit in range(len(reply) * 8):
        with pytest.raises(ProtocolError):
            open_reply(_flip(reply, bit), client_key)


@settings(max_examples=60, deadline=None)
@given(request=requests, data=st.data())
def test_random_bit_flips_are_refused(request: Request, data: st.DataObject) -> None:
    datagram, client_key = seal_request(request, SERVER_PUBLIC, relay_key=RELAY_KEY)
    bit = data.draw(st.integers(0, len(datagram) * 8 - 1), label="request bit")
    with pytest.raises(ProtocolError):
        open_request(_flip(datagram, bit), KEYRING, relay_key=RELAY_KEY)
    _, server_key = open_request(datagram, KEYRING, relay_key=RELAY_KEY)
    reply = seal_reply(Reply(request.request_id, result={"ok": True}), server_key)
    bit = data.draw(st.integers(0, len(reply) * 8 - 1), label="reply bit")
    with pytest.raises(ProtocolError):
        open_reply(_flip(reply, bit), client_key)


def test_header_fields_are_refused_with_specific_errors() -> None:
    _, datagram, _, _, _ = _sealed_pair()
    cases: list[tuple[bytes, type[ProtocolError]]] = [
        (b"XXXX" + datagram[4:], MalformedDatagram),
        (datagram[:4] + b"\x02" + datagram[5:], UnsupportedVersion),
        (datagram[:5] + b"\x02" + datagram[6:], MalformedDatagram),
        (datagram[:6] + b"\0" * 8 + datagram[14:], UnknownKeyId),
        (datagram[:14] + b"\0" * 32 + datagram[46:], BadSeal),  # low-order ephemeral key
    ]
    for tampered, error in cases:
        with pytest.raises(error):
            open_request(tampered, KEYRING, relay_key=RELAY_KEY)


def test_truncated_datagrams_are_refused() -> None:
    _, datagram, client_key, reply, _ = _sealed_pair()
    for size in range(len(datagram)):
        with pytest.raises(ProtocolError):
            open_request(datagram[:size], KEYRING, relay_key=RELAY_KEY)
    for size in range(len(reply)):
        with pytest.raises(ProtocolError):
            open_reply(reply[:size], client_key)
    with pytest.raises(MalformedDatagram, match="too short"):
        open_request(datagram[:73], KEYRING, relay_key=RELAY_KEY)


def test_a_reply_is_not_a_request_and_vice_versa() -> None:
    _, datagram, client_key, reply, _ = _sealed_pair()
    with pytest.raises(MalformedDatagram, match="message type"):
        open_request(reply + bytes(64), KEYRING, relay_key=RELAY_KEY)
    with pytest.raises(MalformedDatagram, match="message type"):
        open_reply(datagram, client_key)


def test_reply_for_another_request_is_refused() -> None:
    _, _, client_key, _, server_key = _sealed_pair()
    other_id = bytes(16)
    # What a confused server could produce: the right key, another request's id.
    confused = ReplyKey(server_key._key, server_key.key_id, other_id)
    reply = seal_reply(Reply(other_id, result={}), confused)
    with pytest.raises(MalformedDatagram, match="different request"):
        open_reply(reply, client_key)
    with pytest.raises(ValueError, match="different request"):
        seal_reply(Reply(other_id, result={}), server_key)


def test_reply_sealed_for_another_exchange_is_refused() -> None:
    request, _, client_key, _, _ = _sealed_pair()
    # The same request sealed again has a new ephemeral key, hence a new reply key.
    resealed, _ = seal_request(request, SERVER_PUBLIC, relay_key=RELAY_KEY)
    _, other_server_key = open_request(resealed, KEYRING, relay_key=RELAY_KEY)
    reply = seal_reply(Reply(request.request_id, result={}), other_server_key)
    with pytest.raises(BadSeal):
        open_reply(reply, client_key)


# --- wrong keys ---------------------------------------------------------------------------


def test_request_for_an_unknown_server_key_is_refused() -> None:
    stranger = generate_private_key().public_key()
    datagram, _ = seal_request(Request(op="ping", vdir="", client_ip="", body={}), stranger)
    with pytest.raises(UnknownKeyId, match="unknown key id"):
        open_request(datagram, KEYRING)


class _SwappedKeyring(Keyring):
    """A keyring holding another private key under the id of SERVER's."""

    def __init__(self, impostor: X25519PrivateKey) -> None:
        super().__init__([SERVER])
        self._impostor = impostor

    def get(self, key_id: bytes) -> X25519PrivateKey | None:
        return self._impostor if super().get(key_id) is not None else None


def test_request_opened_with_a_swapped_key_under_the_same_id_is_refused() -> None:
    datagram, _ = seal_request(Request(op="ping", vdir="", client_ip="", body={}), SERVER_PUBLIC)
    with pytest.raises(BadSeal):
        open_request(datagram, _SwappedKeyring(generate_private_key()))


@pytest.mark.parametrize(
    ("relay_side", "server_side"),
    [
        (os.urandom(32), RELAY_KEY),  # wrong relay key
        (None, RELAY_KEY),  # relay has no key, the server expects one
        (RELAY_KEY, None),  # relay has a key the server does not use
    ],
    # Named ids: parallel workers must collect the same test names (random bytes differ).
    ids=["wrong-relay-key", "relay-without-key", "server-without-key"],
)
def test_relay_key_mismatch_is_refused(relay_side: bytes | None, server_side: bytes | None) -> None:
    datagram, _ = seal_request(
        Request(op="ping", vdir="", client_ip="", body={}), SERVER_PUBLIC, relay_key=relay_side
    )
    with pytest.raises(BadSeal):
        open_request(datagram, KEYRING, relay_key=server_side)


def test_empty_relay_key_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        seal_request(
            Request(op="ping", vdir="", client_ip="", body={}), SERVER_PUBLIC, relay_key=b""
        )


# --- size ---------------------------------------------------------------------------------


class _CountingKeyring(Keyring):
    def __init__(self) -> None:
        super().__init__([SERVER])
        self.lookups = 0

    def get(self, key_id: bytes) -> X25519PrivateKey | None:
        self.lookups += 1
        return super().get(key_id)


def test_oversized_datagram_is_refused_before_any_crypto() -> None:
    _, datagram, _, _, _ = _sealed_pair()
    ring = _CountingKeyring()
    with pytest.raises(OversizedDatagram):
        open_request(datagram + bytes(MAX_DATAGRAM), ring, relay_key=RELAY_KEY)
    with pytest.raises(OversizedDatagram):
        open_request(datagram, ring, relay_key=RELAY_KEY, max_size=len(datagram) - 1)
    assert ring.lookups == 0
    open_request(datagram, ring, relay_key=RELAY_KEY, max_size=len(datagram))
    assert ring.lookups == 1


def test_sealing_refuses_an_oversized_request_and_reply() -> None:
    big = Request(op="meta", vdir="", client_ip="", body={"x": "a" * MAX_DATAGRAM})
    with pytest.raises(OversizedDatagram):
        seal_request(big, SERVER_PUBLIC)
    request = Request(op="meta", vdir="", client_ip="", body={"x": "a" * 900})
    with pytest.raises(OversizedDatagram):
        seal_request(request, SERVER_PUBLIC, max_size=900)
    _, server_key = open_request(seal_request(request, SERVER_PUBLIC)[0], KEYRING)
    with pytest.raises(OversizedDatagram):
        seal_reply(Reply(request.request_id, result={"x": "a" * MAX_DATAGRAM}), server_key)


# --- replay and staleness, end to end -----------------------------------------------------


class _Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@settings(max_examples=30, deadline=None)
@given(request=requests)
def test_a_replayed_datagram_is_refused(request: Request) -> None:
    guard = ReplayGuard(window=60.0, clock=_Clock(request.timestamp))
    datagram, _ = seal_request(request, SERVER_PUBLIC)
    guard.check(open_request(datagram, KEYRING)[0])
    with pytest.raises(ReplayedRequest):
        guard.check(open_request(datagram, KEYRING)[0])


@settings(max_examples=30, deadline=None)
@given(
    request=requests, skew=st.floats(min_value=60.001, max_value=1e6), sign=st.sampled_from([-1, 1])
)
def test_a_stale_datagram_is_refused(request: Request, skew: float, sign: int) -> None:
    guard = ReplayGuard(window=60.0, clock=_Clock(request.timestamp + sign * skew))
    datagram, _ = seal_request(request, SERVER_PUBLIC)
    with pytest.raises(StaleRequest):
        guard.check(open_request(datagram, KEYRING)[0])


def test_error_reasons_are_stable() -> None:
    assert {
        cls.reason
        for cls in (
            MalformedDatagram,
            OversizedDatagram,
            UnknownKeyId,
            BadSeal,
            StaleRequest,
            ReplayedRequest,
            UnsupportedVersion,
        )
    } == {
        "malformed",
        "oversized",
        "unknown_key",
        "bad_seal",
        "stale",
        "replayed",
        "unsupported_version",
    }
