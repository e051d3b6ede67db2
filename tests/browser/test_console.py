"""The admin console in Chromium (`pwreset console`), against a running backend and the real
lab directories: sign-in with a directory account and the group check, filters, the
drill-down, an export, lifting pwreset's lockout (audited with the admin's name), CSRF
refusals, idle and absolute session expiry on an injected clock, and axe on every page."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from pwreset.console.web import signin

from support.axe import axe_violations
from support.flowstack import ANSWERS, PASSWORD
from support.web_console import Console, shot

pytestmark = pytest.mark.browser


def test_an_admin_signs_in_filters_drills_down_exports_and_lifts_a_lockout(
    console: Console, page: Page
) -> None:
    stack = console.stack
    alice, bob = console.new_user("pwcalice"), console.new_user("pwcbob")
    for user in (alice, bob):
        assert stack.enroll(user).status_code == 200
    # One wrong answer locks alice out of pwreset (lockout_threshold = 1).
    reply = stack.start("reset", alice)
    stack.step("reset", reply.json()["flow"], answer="not " + ANSWERS[0])
    assert stack.record(alice).wrong_answers == 1

    console.sign_in(page, console.admin)
    assert page.url.endswith("/users")
    assert f"{stack.domain}\\{console.admin}" in page.locator("header").inner_text()
    cookie = next(c for c in page.context.cookies() if c["name"] == "pwreset_console")
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"

    # Filters: the search, then the lockout filter.
    page.get_by_label("User name or e-mail contains").fill(alice)
    page.get_by_role("button", name="Apply filters").click()
    assert page.locator("#count").inner_text() == "1"
    page.get_by_label("User name or e-mail contains").fill("pwc")
    page.get_by_label("Locked out by pwreset").select_option("yes")
    page.get_by_role("button", name="Apply filters").click()
    table = page.locator("table").inner_text()
    assert alice in table and bob not in table
    if stack.kind == "openldap":
        shot(page, "users")

    # The export holds what the filters select.
    with page.expect_download() as download:
        page.get_by_role("link", name="Export as CSV").click()
    exported = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert alice in exported and bob not in exported

    # Drill-down: alice's own history, then lift the lockout.
    page.get_by_role("link", name=alice).click()
    history = page.locator("#history + *").inner_text() + page.locator("main").inner_text()
    assert "enroll" in history and bob not in history
    page.get_by_role("button", name="Lift pwreset's lockout").click()
    assert "lockout was lifted" in page.get_by_role("status").inner_text()
    assert stack.record(alice).wrong_answers == 0
    if stack.kind == "openldap":
        shot(page, "user")

    # The audit log: filtered to alice's successes, each user a link to their history.
    page.get_by_role("link", name="Audit log").click()
    page.get_by_label("User", exact=True).fill(alice)
    page.get_by_label("Type").fill("success")
    page.get_by_role("button", name="Apply filters").click()
    text = page.locator("table").inner_text()
    assert "lifted by the help desk" in text and bob not in text
    assert "failure" not in text
    by = f"console:{stack.domain}\\{console.admin}"
    assert any(e.web_user == by and e.source == "admin" for e in stack.audit(alice))
    # The sign-in and the export were audited with the admin's name too.
    events = [e.event for e in stack.audit(console.admin) if e.web_user == by]
    assert "signed in to the web console" in events
    assert any(e.startswith("exported 1 users rows") for e in events)


def test_a_directory_user_outside_the_admin_groups_is_refused(console: Console, page: Page):
    outsider = console.new_user("pwcout")
    console.sign_in(page, outsider)
    assert "may not use the console" in page.get_by_role("alert").inner_text()
    assert page.request.get(f"{console.url}/users", max_redirects=0).status == 303
    console.sign_in(page, console.admin, "Wrong!Passw0rd-9")
    assert "may not use the console" in page.get_by_role("alert").inner_text()
    nobody = f"pwcnobody{secrets.token_hex(3)}"
    console.sign_in(page, nobody, "Guess!Passw0rd-1")
    assert "may not use the console" in page.get_by_role("alert").inner_text()
    # Each refusal is audited through the server: the name tried, the address, the reason.
    domain = console.stack.domain
    for user, reason in (
        (outsider, signin.NOT_IN_GROUP),
        (console.admin, signin.WRONG_PASSWORD),
        (nobody, signin.UNKNOWN_ACCOUNT),
    ):
        rows = [e for e in console.stack.audit(user) if e.type == "failure"]
        assert [(e.source, e.event, e.ip, e.web_user) for e in rows] == [
            ("console", reason, "127.0.0.1", f"console:{domain}\\{user}")
        ]
    assert not any("Passw0rd" in str(vars(e)) for e in console.stack.audit())


ONE = pytest.mark.parametrize("console", ["openldap"], indirect=True)


@ONE
def test_the_help_desk_looks_callers_up_and_nothing_more(console: Console, page: Page):
    stack = console.stack
    agent, caller = console.new_user("pwchd"), console.new_user("pwccall")
    stack.admin.create_group(f"{console.group}hd", [agent])
    assert stack.enroll(caller).status_code == 200
    reply = stack.start("reset", caller)
    stack.step("reset", reply.json()["flow"], answer="wrong " + ANSWERS[0])
    console.sign_in(page, agent)
    page.get_by_label("User name or e-mail contains").fill(caller)
    page.get_by_role("button", name="Apply filters").click()
    page.get_by_role("link", name=caller).click()
    assert "enroll" in page.locator("main").inner_text()
    assert page.get_by_role("link", name="Audit log").count() == 0
    assert page.get_by_role("button", name="Lift pwreset's lockout").count() == 0
    for path in ("/audit", "/activity", "/export/users.csv", "/reports?name=locked"):
        assert page.request.get(f"{console.url}{path}").status == 403, path
    token = page.locator('input[name="csrf"]').first.get_attribute("value") or ""
    lift = f"{console.url}/users/{stack.domain}/{caller}/lift"
    assert page.request.post(lift, form={"csrf": token}).status == 403
    assert stack.record(caller).wrong_answers == 1


@ONE
def test_sign_in_is_throttled_per_account_before_the_directory_is_asked(
    console: Console, page: Page
) -> None:
    victim = console.new_user("pwcthr")
    for _ in range(5):
        console.sign_in(page, victim, "Wrong!Passw0rd-9")
    console.sign_in(page, victim)  # the right password, but past the limit
    assert "Too many failed sign-ins" in page.get_by_role("alert").inner_text()
    console.sign_in(page, victim)
    # Five wrong passwords, then one row for the throttled flood, however long it goes on.
    events = [e.event for e in console.stack.audit(victim) if e.source == "console"]
    assert events == [signin.WRONG_PASSWORD] * 5 + [signin.THROTTLED]
    console.clock.advance(16 * 60)  # the window has passed
    console.sign_in(page, victim)
    assert "may not use the console" in page.get_by_role("alert").inner_text()  # no group


@ONE  # the console's own behaviour: one directory shows it
def test_a_post_without_or_with_a_wrong_token_is_refused(console: Console, page: Page):
    stack = console.stack
    carol = console.new_user("pwccarol")
    assert stack.enroll(carol).status_code == 200
    reply = stack.start("reset", carol)
    stack.step("reset", reply.json()["flow"], answer="wrong " + ANSWERS[0])
    console.sign_in(page, console.admin)
    lift = f"{console.url}/users/{stack.domain}/{carol}/lift"
    assert page.request.post(lift, form={}).status == 403
    assert page.request.post(lift, form={"csrf": "x" * 43}).status == 403
    assert stack.record(carol).wrong_answers == 1  # nothing was lifted
    signout = page.request.post(f"{console.url}/signout", form={"csrf": "nope"})
    assert signout.status == 403
    # The sign-in form's own token: a forged one is refused before any bind.
    forged = page.request.post(
        f"{console.url}/signin", form={"csrf": "forged", "username": "x", "password": "y"}
    )
    assert forged.status == 403


@ONE  # the console's own behaviour: one directory shows it
def test_a_session_ends_when_idle_and_at_its_absolute_lifetime(console: Console, page: Page):
    console.sign_in(page, console.admin)
    console.clock.advance(14 * 60)
    assert page.request.get(f"{console.url}/users", max_redirects=0).status == 200
    console.clock.advance(16 * 60)  # 16 minutes idle
    page.goto(f"{console.url}/users")
    assert page.url.endswith("/signin?expired=1")
    assert "session has ended" in page.get_by_role("alert").inner_text()

    console.sign_in(page, console.admin)
    for _ in range(36):  # busy all day: a request every 14 minutes (8.4 hours), never idle
        console.clock.advance(14 * 60)
        page.request.get(f"{console.url}/audit?from=2999-01-01", max_redirects=0)
    assert page.request.get(f"{console.url}/users", max_redirects=0).status == 303


@ONE  # the console's own behaviour: one directory shows it
def test_every_page_passes_axe(console: Console, browser: Browser) -> None:
    # axe is a script and the console allows none: this context alone bypasses the CSP.
    context = browser.new_context(bypass_csp=True)
    try:
        page = context.new_page()
        page.goto(f"{console.url}/signin")
        found = {"signin": axe_violations(page)}
        shot(page, "signin")
        console.sign_in(page, console.admin)
        for name in (
            "users",
            f"users/{console.stack.domain}/{console.admin}",
            "audit",
            "activity",
            "reports?name=activity&days=30",
        ):
            page.goto(f"{console.url}/{name}")
            found[name] = axe_violations(page)
        shot(page, "activity")
        page.goto(f"{console.url}/audit")
        shot(page, "audit")
    finally:
        context.close()
    assert not any(found.values()), found


@ONE  # the console's own behaviour: one directory shows it
def test_the_console_in_another_language_right_to_left_and_remembered(
    console: Console, browser: Browser
) -> None:
    # A German browser gets the German sign-in; the session starts in it.
    context = browser.new_context(bypass_csp=True, extra_http_headers={"Accept-Language": "de"})
    try:
        page = context.new_page()
        page.goto(f"{console.url}/signin")
        page.get_by_label("Benutzername").fill(console.admin)
        page.get_by_label("Passwort").fill(PASSWORD)
        page.get_by_role("button", name="Anmelden").click()
        expect(page.get_by_role("link", name="Audit-Protokoll")).to_be_visible()
        # The switcher: Arabic, right to left, kept by the session on the next page.
        switcher = page.get_by_role("navigation", name="Sprache")
        with page.expect_navigation():  # the choice is stored by the request the link makes
            switcher.get_by_role("link", name="العربية").click()
        page.goto(f"{console.url}/audit")
        html = page.locator("html")
        assert (html.get_attribute("lang"), html.get_attribute("dir")) == ("ar", "rtl")
        expect(page.get_by_role("heading", name="سجل التدقيق")).to_be_visible()
        found = {"audit": axe_violations(page)}
        shot(page, "audit-ar")
        page.goto(f"{console.url}/users")
        found["users"] = axe_violations(page)
    finally:
        context.close()
    assert not any(found.values()), found


@ONE  # the reports themselves run on both directories in tests/server
def test_an_admin_runs_a_report_narrowed_to_a_group_and_exports_it(
    console: Console, page: Page
) -> None:
    stack = console.stack
    waiting, done = console.new_user("pwcwait"), console.new_user("pwcdone")
    group = f"pwcrep{secrets.token_hex(3)}"
    stack.admin.create_group(group, [waiting, done])
    assert stack.enroll(done).status_code == 200
    console.sign_in(page, console.admin)
    page.get_by_role("link", name="Reports").click()
    page.get_by_label("Report", exact=True).select_option("not-enrolled")
    page.get_by_label("Group").fill(group)
    page.get_by_role("button", name="Run the report").click()
    expect(page.get_by_role("heading", name="Users not enrolled")).to_be_visible()
    rows = page.locator("table").inner_text()
    assert waiting in rows and done not in rows and page.locator("#count").inner_text() == "1"
    shot(page, "reports")
    for fmt in ("CSV", "HTML"):
        with page.expect_download() as download:
            page.get_by_role("link", name=f"Export as {fmt}").click()
        assert download.value.suggested_filename.startswith("not-enrolled-")
        exported = Path(download.value.path()).read_text(encoding="utf-8-sig")
        assert waiting in exported and done not in exported
    by = f"console:{stack.domain}\\{console.admin}"
    events = [e.event for e in stack.audit(console.admin) if e.web_user == by]
    assert any(e.startswith("exported 1 not-enrolled rows as HTML") for e in events)
