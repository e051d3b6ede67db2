"""The authenticator-app and recovery-code factors' own rules, without a directory: the
drift window, enrollment by a confirming code, and single-use recovery codes bound to their
account. The flows over both directories are in tests/flows/test_totp.py and
test_recovery_codes.py."""

from __future__ import annotations

import base64
import re

import pytest
from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP

from pwreset.server.flows.factors import recovery_codes, totp
from pwreset.server.storage import UserRecord

NOW = 1_800_000_015.0  # 15 s into a step


def app_code(secret: str, at: float) -> str:
    """What an authenticator app shows at `at` (the test's own TOTP, as an app computes it)."""
    key = base64.b32decode(secret.replace(" ", ""))
    return TOTP(key, 6, SHA1(), 30).generate(at).decode()


def test_a_secret_has_160_random_bits():
    secrets = {totp.new_secret() for _ in range(50)}
    assert len(secrets) == 50
    assert all(len(base64.b32decode(s)) == 20 for s in secrets)


@pytest.mark.parametrize(("drift", "steps", "accepted"), [
    (1, -1, True), (1, 1, True), (1, -2, False), (1, 2, False),
    (0, -1, False), (0, 0, True), (2, -2, True), (2, 3, False),
])  # fmt: skip
def test_codes_are_accepted_within_the_drift_window(drift, steps, accepted):
    secret = totp.new_secret()
    code = app_code(secret, NOW + steps * 30)
    found = totp.matching_step(secret, code, NOW, drift)
    assert (found == int(NOW // 30) + steps) if accepted else found is None


def test_a_code_may_be_typed_with_a_space_and_nothing_else_matches():
    secret = totp.new_secret()
    code = app_code(secret, NOW)
    assert totp.matching_step(secret, f"{code[:3]} {code[3:]}", NOW, 1) is not None
    for typed in ("", "12345", "1234567", "abcdef", "١٢٣٤٥٦"):
        assert totp.matching_step(secret, typed, NOW, 1) is None


def test_enrollment_needs_a_current_code_of_the_secret_shown():
    pending = totp.PendingSecret(b"f" * 32)
    secret = totp.new_secret()
    token = pending.seal("lab", "ann", secret, NOW)
    assert secret not in token
    assert pending.open("lab", "ann", token, NOW + 60) == secret
    assert pending.open("lab", "bob", token, NOW + 60) is None  # bound to the account
    assert pending.open("lab", "ann", token, NOW + totp.PENDING_SECONDS + 1) is None
    assert pending.open("lab", "ann", token[:-2] + "AA", NOW) is None
    record = UserRecord(domain="lab", username="ann")
    assert not totp.confirm(record, secret, app_code(totp.new_secret(), NOW), NOW, 1)
    assert totp.entry(record) is None
    assert totp.confirm(record, secret, app_code(secret, NOW), NOW + 1, 1)
    held = totp.entry(record)
    assert held is not None and held["secret"] == secret
    # The confirming code's step is used up: it cannot also prove a reset.
    assert held["last_step"] == int(NOW // 30)


def test_the_qr_code_holds_the_provisioning_uri():
    reply = totp.begin_reply("JBSWY3DPEHPK3PXP" * 2, "ann@lab", "Acme IT")
    assert reply["uri"].startswith("otpauth://totp/Acme%20IT:ann%40lab?")
    assert "secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP" in reply["uri"]
    assert reply["secret"] == "JBSW Y3DP EHPK 3PXP JBSW Y3DP EHPK 3PXP"
    rows = reply["qr"]
    assert len(rows) == len(rows[0]) >= 21 and set("".join(rows)) == {"0", "1"}


# --- recovery codes ---------------------------------------------------------------------------

KEY = recovery_codes.RecoveryCodeKey(b"k" * 32)


def test_ten_codes_of_50_bits_shown_grouped_and_stored_hashed():
    record = UserRecord(domain="lab", username="ann")
    codes = recovery_codes.generate(record, KEY, NOW)
    assert len(set(codes)) == 10
    assert all(re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}", c) for c in codes)
    stored = recovery_codes.entries(record)
    assert len(stored) == 10 and not any(c in repr(record.enrollment) for c in codes)
    assert not any(c.replace("-", "") in repr(record.enrollment) for c in codes)


def test_a_code_is_used_once_typed_loosely():
    record = UserRecord(domain="lab", username="ann")
    code = recovery_codes.generate(record, KEY, NOW)[0]
    stored = recovery_codes.entries(record)
    loose = code.lower().replace("-", " ").replace("1", "l").replace("0", "o")
    assert recovery_codes.use(stored, KEY.of("lab", "ann", loose), NOW) == "right"
    assert recovery_codes.left(record) == 9
    assert recovery_codes.use(stored, KEY.of("lab", "ann", code), NOW) == "used"
    assert recovery_codes.use(stored, KEY.of("lab", "ann", "AAAAA-AAAAA"), NOW) == "wrong"


def test_a_code_matches_only_its_own_account_and_a_new_set_replaces_the_old():
    record = UserRecord(domain="lab", username="ann")
    old = recovery_codes.generate(record, KEY, NOW)
    assert (
        recovery_codes.use(recovery_codes.entries(record), KEY.of("lab", "bob", old[0]), NOW)
        == "wrong"
    )
    recovery_codes.generate(record, KEY, NOW)
    stored = recovery_codes.entries(record)
    assert len(stored) == 10
    assert all(recovery_codes.use(stored, KEY.of("lab", "ann", c), NOW) == "wrong" for c in old)
