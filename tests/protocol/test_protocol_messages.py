"""The JSON plaintext: strict decoding, and encoding that refuses what decoding would."""

from __future__ import annotations

import json
from types import MappingProxyType
from typing import Any

import pytest

from pwreset.protocol.errors import MalformedDatagram
from pwreset.protocol.messages import (
    Failure,
    Reply,
    Request,
    decode_reply,
    decode_request,
    encode_reply,
    encode_request,
)

RID = bytes(range(16))
GOOD_REQUEST: dict[str, Any] = {
    "request_id": RID.hex(),
    "timestamp": 1700000000.5,
    "op": "change",
    "vdir": "hr",
    "client_ip": "203.0.113.9",
    "body": {"username": "alice"},
}


def _raw(obj: object) -> bytes:
    return json.dumps(obj).encode()


def test_request_round_trip_and_defaults() -> None:
    request = Request(op="meta", vdir="hr", client_ip="::1", body=MappingProxyType({"a": (1, 2)}))
    assert len(request.request_id) == 16
    decoded = decode_request(encode_request(request))
    assert decoded.body == {"a": [1, 2]}
    assert (decoded.op, decoded.request_id, decoded.timestamp) == (
        "meta",
        request.request_id,
        request.timestamp,
    )


def test_good_request_decodes() -> None:
    request = decode_request(_raw(GOOD_REQUEST))
    assert request.request_id == RID
    assert request.body == {"username": "alice"}


@pytest.mark.parametrize(
    ("change", "remove"),
    [
        ({}, "op"),
        ({"extra": 1}, None),
        ({"op": ""}, None),
        ({"op": "x" * 65}, None),
        ({"op": 7}, None),
        ({"vdir": None}, None),
        ({"client_ip": "1" * 65}, None),
        ({"body": []}, None),
        ({"body": "text"}, None),
        ({"request_id": RID.hex()[:-2]}, None),
        ({"request_id": RID.hex().upper()}, None),
        ({"request_id": " " + RID.hex()[1:]}, None),
        ({"request_id": 5}, None),
        ({"timestamp": "1700000000"}, None),
        ({"timestamp": True}, None),
        ({"timestamp": 1e400}, None),  # json turns the overflow into Infinity
    ],
)
def test_malformed_request_fields(change: dict[str, Any], remove: str | None) -> None:
    obj = {**GOOD_REQUEST, **change}
    if remove:
        del obj[remove]
    with pytest.raises(MalformedDatagram):
        decode_request(_raw(obj))


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"[]",
        b"\xff\xfe",
        b'{"op": NaN}',
        _raw(GOOD_REQUEST).replace(b"1700000000.5", b"NaN"),
        _raw(GOOD_REQUEST).replace(b"1700000000.5", b"-Infinity"),
        _raw(GOOD_REQUEST)[:-1] + b', "op": "meta"}',  # duplicate key
        b"[" * 100000,
    ],
)
def test_malformed_request_json(raw: bytes) -> None:
    with pytest.raises(MalformedDatagram):
        decode_request(raw)


def test_decode_errors_do_not_quote_the_plaintext() -> None:
    for raw in (b'{"password": "hunter2"', _raw({**GOOD_REQUEST, "op": "hunter2" * 20})):
        with pytest.raises(MalformedDatagram) as caught:
            decode_request(raw)
        assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    "request_",
    [
        Request(op="", vdir="", client_ip="", body={}),
        Request(op="x" * 65, vdir="", client_ip="", body={}),
        Request(op="meta", vdir="", client_ip="", body={}, request_id=b"short"),
        Request(op="meta", vdir="", client_ip="", body={}, timestamp=float("nan")),
        Request(op="meta", vdir="", client_ip="", body={"x": float("inf")}),
        Request(op="meta", vdir="", client_ip="", body={"x": object()}),
        Request(op="meta", vdir="", client_ip="", body={"x": "\ud800"}),
        Request(op="meta", vdir="", client_ip="", body=[]),  # type: ignore[arg-type]
    ],
)
def test_encoding_refuses_what_the_server_would_refuse(request_: Request) -> None:
    with pytest.raises(ValueError):
        encode_request(request_)


def test_reply_round_trips() -> None:
    ok = Reply(RID, result={"status": "done"})
    failed = Reply(RID, failure=Failure("account_locked", "Locked.", {"minutes": "30"}))
    assert decode_reply(encode_reply(ok)) == ok
    assert decode_reply(encode_reply(failed)) == failed
    assert decode_reply(encode_reply(Reply(RID, failure=Failure("x")))).failure == Failure("x")


@pytest.mark.parametrize(
    "reply",
    [
        Reply(RID),
        Reply(RID, result={}, failure=Failure("x")),
        Reply(RID, failure=Failure("")),
        Reply(RID, failure=Failure("x", params={"n": 3})),  # type: ignore[dict-item]
        Reply(b"short", result={}),
    ],
)
def test_reply_encoding_refuses_bad_replies(reply: Reply) -> None:
    with pytest.raises(ValueError):
        encode_reply(reply)


@pytest.mark.parametrize(
    "obj",
    [
        {"request_id": RID.hex()},
        {"request_id": RID.hex(), "result": {}, "failure": None},
        {"request_id": RID.hex(), "result": None},
        {"request_id": RID.hex(), "result": []},
        {"request_id": RID.hex(), "failure": {"code": "x", "detail": ""}},
        {"request_id": RID.hex(), "failure": {"code": "x", "detail": "", "params": {"a": 1}}},
        {"request_id": RID.hex(), "failure": {"code": 1, "detail": "", "params": {}}},
        {"request_id": RID.hex(), "failure": "x"},
        {"result": {}},
    ],
)
def test_malformed_replies(obj: dict[str, Any]) -> None:
    with pytest.raises(MalformedDatagram):
        decode_reply(_raw(obj))


@pytest.mark.parametrize("digits", [309, 400, 4000])
def test_a_timestamp_too_large_for_a_float_is_a_malformed_request(digits: int) -> None:
    """Found by the datagram fuzzer (issue 9): a huge integer timestamp made float() raise
    OverflowError, which escaped the decoder and the server's datagram handler."""
    raw = _raw(GOOD_REQUEST).replace(b"1700000000.5", b"1" + b"0" * digits)
    with pytest.raises(MalformedDatagram, match="timestamp"):
        decode_request(raw)
    with pytest.raises(ValueError, match="timestamp"):
        encode_request(Request("ping", "", "", {}, timestamp=10**digits))  # type: ignore[arg-type]


@pytest.mark.parametrize("escaped", [r"\ud800", r"a\udfffb", r"\ud83d", r"\ude00\ud83d"])
@pytest.mark.parametrize("where", ["body", "key", "op", "reply"])
def test_a_lone_surrogate_anywhere_is_malformed(escaped: str, where: str) -> None:
    """Found by the datagram fuzzer (issue 9): JSON escapes can spell a lone surrogate,
    which no encoder sends (UTF-8 has none) and which made the flows raise
    UnicodeEncodeError (a server_error) when they hashed a code."""
    text = json.dumps(GOOD_REQUEST)
    if where == "body":
        text = text.replace('"alice"', f'"{escaped}"')
    elif where == "key":
        text = text.replace('"username"', f'"user{escaped}"')
    elif where == "op":
        text = text.replace('"change"', f'"{escaped}"')
    if where == "reply":
        raw = f'{{"request_id":"{RID.hex()}","result":{{"step":["{escaped}"]}}}}'.encode()
        with pytest.raises(MalformedDatagram, match="surrogate"):
            decode_reply(raw)
        return
    with pytest.raises(MalformedDatagram, match="surrogate"):
        decode_request(text.encode())


def test_an_escaped_surrogate_pair_is_one_character() -> None:
    text = json.dumps(GOOD_REQUEST).replace('"alice"', r'"\ud83d\ude00 \\ud800"')
    assert decode_request(text.encode()).body["username"] == "\U0001f600 \\ud800"
