"""The enrollment drive on both directories (issue 13): a user who has not enrolled gets a
reminder, the next one `every_days` later, none once enrolled; `max_reminders` caps them; a
user the enroll permission keeps out gets none; the text is in the directory's
preferredLanguage with a link to the enroll page; a dry run lists and sends nothing."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from datetime import datetime

import pytest

from pwreset.server import runner

DAY = 86400
PUBLIC = "https://sspr.example.org"
# Away from the hour the test runs in, so no round starts before the test moves the clock.
HOUR = (datetime.now().hour + 12) % 24


@pytest.fixture
def rounds(monkeypatch, caplog):
    """`rounds(stack, days)` moves the server's clock on by `days` and waits for the
    daily round of reminders that follows."""
    monkeypatch.setattr(runner, "_HOUSEKEEPING_TICK", 0.02)  # look at the moved clock often
    caplog.set_level(logging.INFO, logger="pwreset.server.reminders")

    def done() -> int:
        return sum(r.getMessage().startswith("enrollment drive:") for r in caplog.records)

    def advance(stack, days: float) -> None:
        before = done()
        stack.clock.advance(days * DAY)
        deadline = time.monotonic() + 30
        while done() == before:
            assert time.monotonic() < deadline, "no round of enrollment reminders"
            time.sleep(0.02)

    return advance


def _reminders(stack, user):
    return [m for m in stack.mails() if any(f"{user}@" in to for to in m.rcpt_tos)]


def _text(mail):
    return mail.message.get_body(("plain",)).get_content()


@pytest.fixture
def users(kind, request, fresh_user_name):
    """Three fresh users: `eager` (preferredLanguage de) will enroll, `idle` never does,
    `admin` is in the group the enroll permission keeps out."""
    from support.flowstack import PASSWORD

    admin = request.getfixturevalue("samba_admin" if kind == "ad" else "slapd_admin")
    names = {role: f"{fresh_user_name}{role[0]}" for role in ("eager", "idle", "admin")}
    for name in names.values():
        admin.create_user(name, PASSWORD)
    admin.set_attribute(names["eager"], "preferredLanguage", "de-DE, en;q=0.5")
    group = f"{fresh_user_name}-adm"
    admin.create_group(group, [names["admin"]])
    return names, group


def test_reminders_stop_once_enrolled_are_capped_and_skip_users_out_of_scope(
    flows, users, kind, request, rounds, own_users_only
):
    names, group = users
    stack = flows(
        domain=own_users_only,
        web={"public_url": PUBLIC},
        enroll={"permission": {"allow": "except", "groups": [group]}},
        enrollment_drive={"enabled": True, "every_days": 3, "max_reminders": 3, "hour": HOUR},
    )
    eager, idle, admin = names["eager"], names["idle"], names["admin"]

    # The dry run lists who would get what, and sends nothing.
    lab = request.getfixturevalue("samba_lab" if kind == "ad" else "slapd_lab")
    env = {**os.environ, f"PWRESET_TEST_{kind.upper()}_PASSWORD": lab.service_password}
    done = subprocess.run(
        [sys.executable, "-m", "pwreset", "reminders", "--dry-run",
         "-c", str(stack.instance / "pwreset.toml")],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"{stack.domain}\\{eager}: reminder 1 of 3, in 'de-DE', to {eager}@" in done.stdout
    assert f"{stack.domain}\\{idle}: reminder 1 of 3, in 'en'" in done.stdout
    assert f"\\{admin}:" not in done.stdout
    assert _reminders(stack, eager) == []

    rounds(stack, 1)
    first = _reminders(stack, eager)
    assert len(first) == 1
    assert first[0].message["Subject"] == "Bitte richten Sie die Kennwort-Selbstbedienung ein"
    body = _text(first[0])
    link = f"{PUBLIC}/pwreset/enroll.html?username={eager}&domain={stack.domain}&lang=de-DE"
    assert link in body
    assert "Dies ist Erinnerung 1 von 3." in body
    assert len(_reminders(stack, idle)) == 1
    assert "Please set up password self-service" in _reminders(stack, idle)[0].message["Subject"]

    rounds(stack, 1)  # one day on: not yet due again (every 3 days)
    assert len(_reminders(stack, eager)) == 1
    rounds(stack, 2)  # three days after the first: the second
    assert len(_reminders(stack, eager)) == 2
    assert len(_reminders(stack, idle)) == 2

    assert stack.enroll(eager).status_code == 200
    rounds(stack, 3)  # the third reminder: not for the user who enrolled
    assert len(_reminders(stack, eager)) == 2
    assert len(_reminders(stack, idle)) == 3
    rounds(stack, 3)
    assert len(_reminders(stack, idle)) == 3  # never enrolled, but capped at 3
    assert len(_reminders(stack, eager)) == 2
    assert _reminders(stack, admin) == []  # the enroll permission keeps them out

    rows = [r for r in stack.audit(eager) if r.source == "reminder"]
    assert [(r.type, r.event) for r in rows] == [
        ("success", "enrollment reminder 1 of 3: email to 1"),
        ("success", "enrollment reminder 2 of 3: email to 1"),
    ]
