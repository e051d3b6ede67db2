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
    the requests past MAX_DECOY_CODES, the least recently used first; but never a record a
    flow could still see (idle_timeout, the code's life): what its next try is told would
    then tell the name from a real user's. A real user's send counts never go."""
    monkeypatch.setattr(codes, "MAX_DECOY_CODES", 10)
    settings = VerificationSettings(enabled=True, email=False, sms=True, sms_command=["sms"])
    # The day's cap (5) looks back a day: until then a new start may be given the old code.
    assert codes.observable_for(settings, idle_timeout=300) == codes.DAY + codes.OBSERVE_MARGIN
    assert codes.observable_for(settings, idle_timeout=0) is None  # flows never expire
    # Without a daily cap: the code's 10 minutes outlast the flow's 5 and the cooldown.
    settings = VerificationSettings(
        enabled=True, email=False, sms=True, sms_command=["sms"], max_codes_per_day=0
    )
    window = codes.observable_for(settings, idle_timeout=300)
    assert window == settings.expiry_minutes * 60 + codes.OBSERVE_MARGIN
    limits = SendLimits(KEY)
    db = Database.open(tmp_path / "data", data_key=KEY)
    try:
        ann = limits.user_id("LAB", "ann")
        assert limits.issue(db.keyed, settings, ann, None, [PHONE], "flow-ann", now=1000.0).code

        def flood(names: range, now: float) -> None:
            for number in names:
                limits.issue_decoy(db.keyed, settings, "LAB", f"made-up{number}", "flow", now,
                                   idle_timeout=300)  # fmt: skip
                limits.settle()

        def decoys() -> set[str]:
            return {key for key, doc in db.keyed.items("u:") if "code" in doc}

        # 30 names, then a sweep a minute later: past the cap, yet all kept, since any of
        # them may still be seen.
        flood(range(30), 2000.0)
        flood(range(30, 31), 2061.0)
        assert len(decoys()) == 31
        # Once they are out of sight, the next sweep cuts the table down to the cap's share.
        later = 2000.0 + window + 1
        flood(range(31, 32), later)
        assert len(decoys()) == 9
        assert limits.user_id("LAB", "made-up31") in decoys()  # the newest stays
        assert limits.user_id("LAB", "made-up30") in decoys()  # still within its window
        assert (db.keyed.get(ann) or {}).get("sent") == [1000.0]
    finally:
        db.close()
