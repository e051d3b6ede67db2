"""Password expiry notices on both directories (issue 13): a user aged into the window (the
server's clock moved on, against the directory's real expiry time) gets each threshold once,
in their language, at the lab's SMTP server and by SMS; a never-expiring user gets none; a
new password starts the thresholds over; users out of scope get none; a dry run lists and
sends nothing; a directory larger than its size limit is read page by page.

Each test narrows the domain's user filter (the scope) to its own users: the lab's other
users, made by the rest of the suite, are left alone."""

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


def _settings(kind, users, **notices):
    """The notices on, for a scope of `users` only."""
    if kind == "ad":
        only = "".join(f"(sAMAccountName={u})" for u in users)
        scope = (
            f"(&(objectCategory=person)(objectClass=user)(sAMAccountName={{username}})(|{only}))"
        )
    else:
        only = "".join(f"(uid={u})" for u in users)
        scope = f"(&(objectClass=inetOrgPerson)(uid={{username}})(|{only}))"
    return {
        "domain": {"user_filter": scope},
        "web": {"public_url": PUBLIC},
        "expiry_notices": {"enabled": True, "days": [14, 7], "hour": HOUR, **notices},
    }


@pytest.fixture
def rounds(monkeypatch, caplog):
    """`rounds(stack, days)` moves the server's clock on by `days` and waits for the
    daily round that follows."""
    monkeypatch.setattr(runner, "_HOUSEKEEPING_TICK", 0.02)  # look at the moved clock often
    caplog.set_level(logging.INFO, logger="pwreset.server.notices")

    def done() -> int:
        return sum(r.getMessage().startswith("expiry notices:") for r in caplog.records)

    def advance(stack, days: float) -> None:
        before = done()
        stack.clock.advance(days * DAY)
        # A bound for a failure only (a loaded machine may be slow): a round ends sooner.
        deadline = time.monotonic() + 60
        while done() == before:
            problems = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
            assert time.monotonic() < deadline, f"no round of expiry notices: {problems}"
            time.sleep(0.02)

    return advance


def _notices(stack, user):
    return [m for m in stack.mails() if any(to.startswith(f"{user}@") for to in m.rcpt_tos)]


def _text(mail):
    return mail.message.get_body(("plain",)).get_content()


def test_each_threshold_is_sent_once_in_the_users_language(flows, user, kind, rounds):
    stack = flows(**_settings(kind, [user], channels=["email", "sms"]))
    assert stack.enroll(user, lang="de").status_code == 200
    # The lab's policies let a password live 90 days: 13.5 days left -> the 14-day notice.
    rounds(stack, 90 - 13.5)
    first = _notices(stack, user)
    assert len(first) == 1
    assert first[0].message["Subject"] == "Ihr Kennwort läuft in 14 Tagen ab"
    body = _text(first[0])
    assert f"Das Kennwort von {user} in {stack.domain} läuft in 14 Tagen ab" in body
    link = f"{PUBLIC}/pwreset/change.html?username={user}&domain={stack.domain}&lang=de"
    assert link in body
    sms = stack.sms()
    assert [(s[0], s[2], s[4]) for s in sms if s[2] == user] == [("+15550199", user, "de")]
    rounds(stack, 1)  # the next day's round: the 14-day notice is not sent again
    assert len(_notices(stack, user)) == 1
    assert len([s for s in stack.sms() if s[2] == user]) == 1
    rounds(stack, 6)  # 6.5 days left: the 7-day notice
    second = _notices(stack, user)
    assert len(second) == 2
    assert second[1].message["Subject"] == "Ihr Kennwort läuft in 7 Tagen ab"
    rows = [r for r in stack.audit(user) if r.source == "notice"]
    assert [(r.type, r.event.split(":")[0]) for r in rows] == [
        ("success", "password expiry notice (14 days)"),
        ("success", "password expiry notice (7 days)"),
    ]
    assert "email to 1, sms to 1" in rows[0].event


@pytest.fixture
def never_expiring(kind, request, fresh_user_name):
    """A user whose password never expires: DONT_EXPIRE_PASSWORD on AD, a policy of its own
    with pwdMaxAge 0 on OpenLDAP (removed afterwards, so other tests see one policy)."""
    from support.flowstack import PASSWORD

    name = fresh_user_name + "n"
    admin = request.getfixturevalue("samba_admin" if kind == "ad" else "slapd_admin")
    admin.create_user(name, PASSWORD)
    admin.set_never_expires(name)
    yield name
    admin.delete_user(name)
    if kind == "openldap":
        with admin.lab.admin_session() as conn:
            conn.delete(f"cn=never-expires,ou=Policies,{admin.lab.base_dn}")


def test_a_new_password_starts_over_and_a_never_expiring_one_gets_nothing(
    flows, user, kind, never_expiring, rounds
):
    stack = flows(**_settings(kind, [user, never_expiring]))
    rounds(stack, 90 - 13.5)
    assert len(_notices(stack, user)) == 1
    assert "in 14 days" in _notices(stack, user)[0].message["Subject"]  # no enrollment: "en"
    # The user changes the password (now, by the directory's clock): 13 days left by the
    # server's, and a new password, so its 14-day notice is due again.
    time.sleep(1.05 - time.time() % 1)  # pwdChangedTime counts whole seconds
    stack.admin.set_password(user, "New!Passw0rd-77")
    rounds(stack, 1)
    assert len(_notices(stack, user)) == 2
    rounds(stack, 80)  # past every threshold of both users' passwords
    assert _notices(stack, never_expiring) == []


def test_dry_run_lists_who_would_get_what_and_sends_nothing(flows, user, kind, request, rounds):
    # Every password of the lab is within 120 days of expiring: only the user is in scope.
    stack = flows(**_settings(kind, [user], days=[120]))
    lab = request.getfixturevalue("samba_lab" if kind == "ad" else "slapd_lab")
    env = {**os.environ, f"PWRESET_TEST_{kind.upper()}_PASSWORD": lab.service_password}
    config = str(stack.instance / "pwreset.toml")

    def notices(*options):
        done = subprocess.run(
            [sys.executable, "-m", "pwreset", "notices", *options, "-c", config],
            capture_output=True, text=True, env=env, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout

    listing = notices("--dry-run")
    assert "1 expiry notice(s) would be sent" in listing
    assert f"{stack.domain}\\{user}: 120-day notice" in listing
    time.sleep(0.2)
    assert _notices(stack, user) == []
    assert not [r for r in stack.audit(user) if r.source == "notice"]
    rounds(stack, 1)  # the server's own round sends what the dry run listed
    assert len(_notices(stack, user)) == 1
    assert f"{stack.domain}\\{user}:" not in notices("--dry-run")  # sent for this password


def _size_limit(lab, value: str | None) -> None:
    """Set (or remove) the lab database's size limit, as root over ldapi (cn=config)."""
    change = f"replace: olcSizeLimit\nolcSizeLimit: {value}" if value else "delete: olcSizeLimit"
    ldif = f"dn: olcDatabase={{1}}mdb,cn=config\nchangetype: modify\n{change}\n"
    done = subprocess.run(
        ["ldapmodify", "-Q", "-Y", "EXTERNAL", "-H", lab.ldapi_url],
        input=ldif, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 0 or "no such attribute" in done.stderr.lower(), done.stderr


@pytest.mark.parametrize("kind", ["openldap"])
def test_a_directory_larger_than_its_size_limit_is_read_page_by_page(
    flows, user, kind, slapd_lab, slapd_admin, rounds
):
    """A directory answers a plain search with at most its size limit (AD: 1000 per page,
    slapd: olcSizeLimit); the lab's is cut to 2 entries, paged searches left whole."""
    from support.flowstack import PASSWORD

    users = [user, f"{user}b", f"{user}c"]
    for name in users[1:]:
        slapd_admin.create_user(name, PASSWORD)
    _size_limit(slapd_lab, "size.soft=2 size.hard=2 size.prtotal=unlimited")
    try:
        stack = flows(**_settings(kind, users))
        rounds(stack, 90 - 13.5)
    finally:
        _size_limit(slapd_lab, None)
        for name in users[1:]:
            slapd_admin.delete_user(name)
    assert [len(_notices(stack, name)) for name in users] == [1, 1, 1]
