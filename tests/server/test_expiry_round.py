"""The expiry notice round on its own store: servers sharing a store never both send a
notice, and a notice no channel took is tried again in the next round."""

from __future__ import annotations

import os
import time

import pytest

from pwreset.config.loader import parse_config
from pwreset.server.directory.base import PasswordExpiry
from pwreset.server.expiry_notices import NoticeRound
from pwreset.server.flows.codes import SendLimits
from pwreset.server.notify import NotifyError
from pwreset.server.storage import Database

DAY = 86400
KEY = os.urandom(32)


class _Directory:
    name = "EXAMPLE"

    def __init__(self, expires: float) -> None:
        self.entry = PasswordExpiry("alice", "alice@example.org", "", 1000.0, expires)

    def password_expiries(self, until: float, seen=None) -> list[PasswordExpiry]:
        return [self.entry] if self.entry.expires < until else []


class _Notifier:
    def __init__(self) -> None:
        self.sent: list[str] = []
        self.down = False

    def expiry_notice(self, channel, to, values) -> int:
        if self.down:
            raise NotifyError("SMTP mail.example.org:25: refused", code="notify_smtp")
        self.sent.append(f"{to.username} {values['[DAYS_LEFT]']}")
        return 1


@pytest.fixture
def setup(tmp_path):
    config = parse_config(
        {
            "web": {"public_url": "https://sspr.example.org"},
            "domains": [{"name": "EXAMPLE", "kind": "openldap", "urls": ["ldaps://x"],
                         "base_dn": "dc=example,dc=org", "bind_dn": "cn=svc"}],
            "email": {"delivery": "smtp"},
            "expiry_notices": {"enabled": True, "days": [7]},
        },
        tmp_path / "pwreset.toml",
    )  # fmt: skip
    db = Database.open(tmp_path / "data", data_key=KEY)
    now = time.time()
    directories = {"EXAMPLE": _Directory(now + 5 * DAY)}

    def new_round() -> NoticeRound:
        return NoticeRound(config, directories, db.users, db.keyed, SendLimits(KEY))

    yield new_round, db, now
    db.close()


def test_two_servers_sharing_the_store_send_a_notice_once(setup):
    new_round, db, now = setup
    notifier = _Notifier()
    first, second = new_round(), new_round()
    # Both plan before either sends, as two servers starting their round at once.
    plans = [first.plan(now), second.plan(now)]
    assert [len(plan.due) for plan in plans] == [1, 1]
    first.send(plans[0], notifier, db.audit, now)
    second.send(plans[1], notifier, db.audit, now)
    assert notifier.sent == ["alice 5"]
    assert [row.source for row in db.audit.query()] == ["notice"]


def test_a_notice_no_channel_took_is_tried_again(setup):
    new_round, db, now = setup
    notifier = _Notifier()
    notifier.down = True
    report = new_round().send(new_round().plan(now), notifier, db.audit, now)
    assert (report.sent, report.failed) == (0, 1)
    failure = next(iter(db.audit.query()))
    assert (failure.type, failure.event) == (
        "failure",
        f"password expiry notice (7 days): expires "
        f"{time.strftime('%Y-%m-%d', time.localtime(now + 5 * DAY))}, "
        "email not sent (notify_smtp)",
    )
    notifier.down = False
    later = now + 3600
    new_round().send(new_round().plan(later), notifier, db.audit, later)
    assert notifier.sent == ["alice 5"]
