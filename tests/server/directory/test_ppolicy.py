"""Decoding the password policy response control (ldap3 hands it over as raw BER)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pwreset.server.directory.ppolicy import decode, from_result


def test_errors_and_warnings():
    assert decode(b"0\x03\x81\x01\x01").error == "accountLocked"
    assert decode(b"0\x03\x81\x01\x02").error == "changeAfterReset"
    assert decode(b"0\x03\x81\x01\x08").error == "passwordInHistory"
    warning = decode(b"0\x07\xa0\x05\x80\x03\x02\xa3\x00")
    assert (warning.error, warning.time_before_expiration) == (None, 172800)
    assert decode(b"0\x05\xa0\x03\x81\x01\x02").grace_logins_remaining == 2


def test_results_without_the_control():
    assert from_result({"result": 49}).error is None
    assert from_result(None).error is None


@given(st.binary(max_size=40))
def test_garbage_never_raises(data: bytes):
    decode(data)
