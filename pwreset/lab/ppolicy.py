"""Decode the error of an OpenLDAP password-policy response control (draft-behera-ldap)."""

from __future__ import annotations

ERRORS = [
    "passwordExpired",
    "accountLocked",
    "changeAfterReset",
    "passwordModNotAllowed",
    "mustSupplyOldPassword",
    "insufficientPasswordQuality",
    "passwordTooShort",
    "passwordTooYoung",
    "passwordInHistory",
]


def error_name(value: bytes | None) -> str:
    """The `error` field's name, or "" if the control carries none (ldap3 hands us raw BER).

    PasswordPolicyResponseValue ::= SEQUENCE {
        warning [0] CHOICE { timeBeforeExpiration [0] INTEGER, graceAuthNsRemaining [1] ... }
            OPTIONAL,
        error   [1] ENUMERATED { ... } OPTIONAL }
    """
    if not value or value[0] != 0x30:
        return ""
    body = _contents(value)
    while body:
        tag, inner, body = body[0], _contents(body), _skip(body)
        if tag == 0x81 and inner:  # [1] primitive: the error enumeration
            index = int.from_bytes(inner, "big")
            return ERRORS[index] if index < len(ERRORS) else f"error{index}"
    return ""


def _length(data: bytes) -> tuple[int, int]:
    """(content length, header length) of the element starting at data[0]."""
    first = data[1]
    if first < 0x80:
        return first, 2
    count = first & 0x7F
    return int.from_bytes(data[2 : 2 + count], "big"), 2 + count


def _contents(data: bytes) -> bytes:
    length, header = _length(data)
    return data[header : header + length]


def _skip(data: bytes) -> bytes:
    length, header = _length(data)
    return data[header + length :]
