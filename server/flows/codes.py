"""Verification codes: random, single use, expiring, stored only as a hash."""

from __future__ import annotations

import secrets
import string
from typing import Any

from pwreset.config.flow_settings import VerificationSettings
from pwreset.server.flows.answers import hash_secret, verify_secret

_ALPHABET = {
    "numeric": string.digits,
    # No 0/O, 1/I/L: codes are read off a phone and typed by hand.
    "alphanumeric": "23456789ABCDEFGHJKMNPQRSTUVWXYZ",
}
# Codes live minutes at most and attempts are counted, so a lighter hash than answers'.
_CODE_PARAMS = {"m": 8192, "t": 1, "p": 1}


def new_code(settings: VerificationSettings) -> str:
    alphabet = _ALPHABET[settings.charset]
    return "".join(secrets.choice(alphabet) for _ in range(settings.length))


def code_record(code: str, flow_id: str, now: float) -> dict[str, Any]:
    return {"hash": hash_secret(_canonical(code), _CODE_PARAMS), "flow": flow_id, "issued": now}


def check_code(typed: str, record: dict[str, Any] | None, flow_id: str) -> bool:
    """True only for the code of this very flow (an earlier code never counts)."""
    if not record or record.get("flow") != flow_id:
        return False
    return verify_secret(_canonical(typed), record["hash"])


def expired(record: dict[str, Any], settings: VerificationSettings, now: float) -> bool:
    if settings.expiry_minutes == 0:
        return False
    return now - float(record.get("issued", 0)) > settings.expiry_minutes * 60


def _canonical(code: str) -> str:
    return "".join(code.split()).upper()
