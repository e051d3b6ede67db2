"""The LDAP password policy response control (draft-behera-ldap-password-policy).

ldap3 hands the control back as raw BER, so the few bytes are decoded here:
    PasswordPolicyResponseValue ::= SEQUENCE {
        warning [0] CHOICE { timeBeforeExpiration [0] INTEGER,
                             graceAuthNsRemaining [1] INTEGER } OPTIONAL,
        error   [1] ENUMERATED { ... } OPTIONAL }
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

OID = "1.3.6.1.4.1.42.2.27.8.5.1"
REQUEST = (OID, False, None)

ERRORS = (
    "passwordExpired",
    "accountLocked",
    "changeAfterReset",
    "passwordModNotAllowed",
    "mustSupplyOldPassword",
    "insufficientPasswordQuality",
    "passwordTooShort",
    "passwordTooYoung",
    "passwordInHistory",
    "passwordTooLong",
)


@dataclass(frozen=True)
class PolicyResponse:
    error: str | None = None
    time_before_expiration: int | None = None
    grace_logins_remaining: int | None = None


def from_result(result: Any) -> PolicyResponse:
    """The decoded control of an ldap3 result dict, or an empty response."""
    controls = (result or {}).get("controls") or {}
    control = controls.get(OID)
    if not control:
        return PolicyResponse()
    value = control.get("value")
    return decode(bytes(value)) if isinstance(value, bytes | bytearray) else PolicyResponse()


def decode(data: bytes) -> PolicyResponse:
    """Decode the control value; malformed input yields an empty response, never an error."""
    try:
        tag, body, _ = _tlv(data, 0)
    except ValueError:
        return PolicyResponse()
    if tag != 0x30:
        return PolicyResponse()
    error: str | None = None
    expiry: int | None = None
    grace: int | None = None
    pos = 0
    while pos < len(body):
        try:
            tag, value, pos = _tlv(body, pos)
        except ValueError:
            break
        if tag == 0xA0:  # warning: a constructed CHOICE
            try:
                inner_tag, inner, _ = _tlv(value, 0)
            except ValueError:
                continue
            if inner_tag == 0x80:
                expiry = _int(inner)
            elif inner_tag == 0x81:
                grace = _int(inner)
        elif tag == 0x81:
            code = _int(value)
            error = ERRORS[code] if 0 <= code < len(ERRORS) else f"unknown({code})"
    return PolicyResponse(error, expiry, grace)


def _tlv(data: bytes, pos: int) -> tuple[int, bytes, int]:
    if pos + 2 > len(data):
        raise ValueError("truncated")
    tag = data[pos]
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or pos + count > len(data):
            raise ValueError("bad length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    end = pos + length
    if end > len(data):
        raise ValueError("truncated")
    return tag, bytes(data[pos:end]), end


def _int(value: bytes) -> int:
    return int.from_bytes(value, "big", signed=True) if value else 0
