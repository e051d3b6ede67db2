"""The end-user address in a request is an IP address or empty: it is audited and rate
limited on, so no relay may put free text there (security review 8)."""

from __future__ import annotations

import json

import pytest

from pwreset.protocol.errors import MalformedDatagram
from pwreset.protocol.messages import Request, decode_request, encode_request


@pytest.mark.parametrize("address", ["", "192.0.2.1", "2001:db8::1", "::ffff:192.0.2.1"])
def test_addresses_and_nothing_pass(address):
    request = Request(op="meta", vdir="hr", client_ip=address, body={})
    assert decode_request(encode_request(request)).client_ip == address


@pytest.mark.parametrize("text", ["testclient", "unknown", "192.0.2.1\n", "\x1b[2J", "a" * 40])
def test_free_text_is_refused_both_ways(text):
    """security review 8: a hop that was no address used to travel on as the client IP."""
    request = Request(op="meta", vdir="hr", client_ip=text, body={})
    with pytest.raises(ValueError, match="client_ip"):
        encode_request(request)
    good = json.loads(encode_request(Request(op="meta", vdir="hr", client_ip="", body={})))
    with pytest.raises(MalformedDatagram, match="client_ip"):
        decode_request(json.dumps({**good, "client_ip": text}).encode())
