"""The admins' reports on both directories (issue 13): `pwreset report not-enrolled` lists
exactly the users who may enroll and have not (not the enrolled, the disabled or those the
enroll permission keeps out), narrowed by group; the scheduled report mail reaches the
lab's SMTP server with its CSV and HTML attachments."""

from __future__ import annotations

import csv
import io
import logging
import os
import subprocess
import sys
import time
from datetime import datetime

import pytest

from pwreset.server import runner

DAY = 86400
HOUR = (datetime.now().hour + 12) % 24  # no mail before the test moves the clock
ADMINS = ["helpdesk@example.org", "security@example.org"]


@pytest.fixture
def people(kind, request, fresh_user_name):
    """`enrolled` (will enroll), `waiting`, `kept_out` (in the group the enroll permission
    excludes), `disabled`; all but `kept_out` in the group `team`."""
    from support.flowstack import PASSWORD

    admin = request.getfixturevalue("samba_admin" if kind == "ad" else "slapd_admin")
    names = {role: f"{fresh_user_name}{role[0]}" for role in
             ("enrolled", "waiting", "kept_out", "disabled")}  # fmt: skip
    for role, name in names.items():
        admin.create_user(name, PASSWORD, disabled=role == "disabled")
    excluded = admin.create_group(f"{fresh_user_name}-x", [names["kept_out"]])
    team = f"{fresh_user_name}-t"
    admin.create_group(team, [names["enrolled"], names["waiting"], names["disabled"]])
    return names, excluded, team


def test_not_enrolled_lists_exactly_who_may_enroll_and_has_not_and_the_mail_carries_it(
    flows, people, kind, request, monkeypatch, caplog, own_users_only
):
    names, excluded, team = people
    monkeypatch.setattr(runner, "_HOUSEKEEPING_TICK", 0.02)
    caplog.set_level(logging.INFO, logger="pwreset.server.reports")
    stack = flows(
        domain=own_users_only,
        enroll={"permission": {"allow": "except", "groups": [excluded]}},
        report_mail={"enabled": True, "to": ADMINS, "hour": HOUR,
                     "reports": ["not-enrolled", "failed-by-address"]},
    )  # fmt: skip
    assert stack.enroll(names["enrolled"]).status_code == 200
    assert stack.enroll(names["waiting"], password="Wrong-Passw0rd!").status_code != 200

    lab = request.getfixturevalue("samba_lab" if kind == "ad" else "slapd_lab")
    env = {**os.environ, f"PWRESET_TEST_{kind.upper()}_PASSWORD": lab.service_password}

    def report(*options: str) -> list[dict[str, str]]:
        done = subprocess.run(
            [sys.executable, "-m", "pwreset", "report", *options, "--format", "csv",
             "-c", str(stack.instance / "pwreset.toml")],
            capture_output=True, text=True, env=env, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return list(csv.DictReader(io.StringIO(done.stdout.lstrip("\ufeff"))))

    # Within the team: only the one who has not enrolled (not the disabled one).
    rows = report("not-enrolled", "--group", team)
    assert [(r["User"], r["Domain"]) for r in rows] == [(names["waiting"], stack.domain)]
    assert rows[0]["E-mail"].startswith(f"{names['waiting']}@")
    # The whole domain (this test's users in scope): the waiting user alone, never the
    # enrolled, the kept-out or the disabled one.
    everyone = [r["User"] for r in report("not-enrolled", "--domain", stack.domain)]
    assert everyone == [names["waiting"]]

    # Activity per site, domain and flow, as a table (a plain grid off a terminal).
    done = subprocess.run(
        [sys.executable, "-m", "pwreset", "report", "activity", "--days", "1",
         "-c", str(stack.instance / "pwreset.toml")],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    grid = done.stdout.splitlines()
    assert grid[0] == "Self-service activity, last 1 days: 1 rows"
    assert grid[2].split() == ["Site", "Domain", "Flow", "Succeeded", "Failed"]
    assert grid[4].split() == ["pwreset", stack.domain, "enroll", "1", "1"]

    # The scheduled mail: at its hour, to both admins, each report as CSV and HTML.
    stack.clock.advance(DAY)
    deadline = time.monotonic() + 30
    while not any(r.getMessage().startswith("report mail") for r in caplog.records):
        assert time.monotonic() < deadline, "no report mail"
        time.sleep(0.02)
    mails = [m for m in stack.mails() if set(ADMINS) <= set(m.rcpt_tos)]
    assert len(mails) == 1
    files = {
        part.get_filename(): part.get_content() for part in mails[0].message.iter_attachments()
    }
    day = datetime.fromtimestamp(stack.clock()).strftime("%Y-%m-%d")
    assert sorted(files) == sorted(f"{n}-{day}.{f}" for n in ("not-enrolled", "failed-by-address")
                                   for f in ("csv", "html"))  # fmt: skip
    attached = list(csv.DictReader(io.StringIO(files[f"not-enrolled-{day}.csv"].lstrip("\ufeff"))))
    assert [r["User"] for r in attached] == [names["waiting"]]
    assert names["waiting"] in files[f"not-enrolled-{day}.html"]
    failed_ip = next(r.ip for r in stack.audit(names["waiting"]) if r.type == "failure")
    by_address = list(
        csv.DictReader(io.StringIO(files[f"failed-by-address-{day}.csv"].lstrip("\ufeff")))
    )
    assert any(r["Address"] == failed_ip and int(r["Failures"]) >= 1 for r in by_address)
    assert [r.event for r in stack.audit("") if r.source == "report"] == [
        "report mail (not-enrolled, failed-by-address): to 2 address(es)"
    ]
