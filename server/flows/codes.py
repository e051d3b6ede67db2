"""Verification codes: random, single use, expiring, stored only as a hash, and dead after
a few wrong tries (security review 3).

A code record is a small dict: the hash, the flows that may submit it (the one it was sent
for and the ones that re-showed it while it was live), when it was issued, the wrong tries
so far, and whether it is dead. Decoy users get the same records (for a code nobody is
sent), so their replies follow the same sequence.
"""

from __future__ import annotations

import secrets
import string
from typing import Any, Literal

from pwreset.config.flow_settings import VerificationSettings
from pwreset.server.flows.answers import hash_secret, verify_secret

_ALPHABET = {
    "numeric": string.digits,
    # No 0/O, 1/I/L: codes are read off a phone and typed by hand.
    "alphanumeric": "23456789ABCDEFGHJKMNPQRSTUVWXYZ",
}
# Codes live minutes at most and attempts are capped, so a lighter hash than answers'.
_CODE_PARAMS = {"m": 8192, "t": 1, "p": 1}
# Flows remembered per code: a few starts while one code is live (a user's tabs, retries).
_MAX_FLOWS = 8

Verdict = Literal["right", "wrong", "dead"]


def new_code(settings: VerificationSettings) -> str:
    alphabet = _ALPHABET[settings.charset]
    return "".join(secrets.choice(alphabet) for _ in range(settings.length))


def code_record(code: str, flow_id: str, now: float) -> dict[str, Any]:
    return {
        "hash": hash_secret(_canonical(code), _CODE_PARAMS),
        "flows": [flow_id],
        "issued": now,
        "tries": 0,
    }


def flows_of(record: dict[str, Any]) -> list[str]:
    # Records written before codes were shared between flows name one "flow".
    return list(record.get("flows") or [record.get("flow")])


def bind(record: dict[str, Any], flow_id: str) -> None:
    """Let `flow_id` submit this live code too (a new start while it is live)."""
    record["flows"] = [*flows_of(record), flow_id][-_MAX_FLOWS:]


def live(record: dict[str, Any], settings: VerificationSettings, now: float) -> bool:
    return not record.get("dead") and not expired(record, settings, now)


def attempt(
    record: dict[str, Any] | None,
    typed: str,
    flow_id: str,
    settings: VerificationSettings,
    *,
    never_right: bool = False,
) -> Verdict:
    """Try `typed` against the code of this flow, counting a wrong try into `record` (save
    it after, under the user's lock). Only a flow the code was sent or shown for can submit
    it; an earlier, replaced code never counts. The try that reaches `max_code_attempts`
    kills the code, and so does every later one. A decoy's code is `never_right`."""
    if not record or flow_id not in flows_of(record):
        return "wrong"
    if record.get("dead"):
        return "dead"
    if verify_secret(_canonical(typed), record["hash"]) and not never_right:
        return "right"
    record["tries"] = int(record.get("tries", 0)) + 1
    if record["tries"] >= settings.max_code_attempts:
        record["dead"] = True
        return "dead"
    return "wrong"


def expired(record: dict[str, Any], settings: VerificationSettings, now: float) -> bool:
    if settings.expiry_minutes == 0:
        return False
    return now - float(record.get("issued", 0)) > settings.expiry_minutes * 60


def _canonical(code: str) -> str:
    return "".join(code.split()).upper()
