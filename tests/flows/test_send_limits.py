"""Codes sent per user and destination (server/flows/codes.py): with the cooldown off,
users who share a phone each get their code, even when their requests overlap; made-up
names' decoy codes stay bounded."""

from __future__ import annotations

from pathlib import Path

import pytest

from pwreset.config.flow_settings import VerificationSettings
from pwreset.server.flows import codes
from pwreset.server.flows.codes import Destination, SendLimits
from pwreset.server.storage import Database

KEY = b"k" * 32
PHONE = Destination("sms", "+15550199")


def test_no_cooldown_sends_to_a_shared_phone_however_requests_overlap(tmp_path: Path) -> None:
    """Found by bench/loss.py: two users of one phone start at once; the second request's
    clock was read before the first one's code went out, so that send looked like one
    from the future, and with code_cooldown = 0 the second user's code was never sent."""
    settings = VerificationSettings(enabled=True, email=False, sms=True, sms_command=["sms"],
                                    code_cooldown=0)  # fmt: skip
    limits = SendLimits(KEY)
    db = Database.open(tmp_path / "data", data_key=KEY)
    try:
        first = limits.issue(db.keyed, settings, limits.user_id("LAB", "ann"), None, [PHONE],
                             "flow-ann", now=1000.5)  # fmt: skip
        second = limits.issue(db.keyed, settings, limits.user_id("LAB", "bob"), None, [PHONE],
                              "flow-bob", now=1000.0)  # fmt: skip
    finally:
        db.close()
    assert first.code is not None and first.send_to == [PHONE]
    assert second.code is not None and second.send_to == [PHONE]


def test_made_up_names_cannot_fill_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A flood of code steps for made-up names, each keeping a decoy code, is swept beside
    the requests past MAX_DECOY_CODES, the least recently used first; a real user's send
    counts are never dropped (they hold the limits that protect a real phone)."""
    monkeypatch.setattr(codes, "MAX_DECOY_CODES", 10)
    settings = VerificationSettings(enabled=True, email=False, sms=True, sms_command=["sms"])
    limits = SendLimits(KEY)
    db = Database.open(tmp_path / "data", data_key=KEY)
    try:
        ann = limits.user_id("LAB", "ann")
        assert limits.issue(db.keyed, settings, ann, None, [PHONE], "flow-ann", now=1000.0).code
        for number in range(30):
            # A minute apart, so each may start a sweep.
            now = 1000.0 + 61 * (number + 1)
            limits.issue_decoy(db.keyed, settings, "LAB", f"made-up{number}", "flow", now)
            limits.settle()
        decoys = {key for key, doc in db.keyed.items("u:") if "code" in doc}
        assert len(decoys) <= 10
        assert limits.user_id("LAB", "made-up29") in decoys
        assert limits.user_id("LAB", "made-up0") not in decoys
        assert (db.keyed.get(ann) or {}).get("sent") == [1000.0]
    finally:
        db.close()
