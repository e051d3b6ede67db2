"""The help desk in the web console, in Chromium, against a running backend and the real lab
directories: an agent of the help desk group signs in with their directory account, verifies
a caller by a code sent to the caller's own address (read from the test's SMTP server), then
unlocks them and resets them to a one-time password that must be changed at next logon. A
directory user outside the console's groups is refused, so is a form without its token, and
every state of the page passes axe."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from support.axe import axe_violations
from support.flowstack import PASSWORD
from support.web_console import Console, shot

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def agent(console: Console) -> str:
    """A directory user in the console's help desk group (and not in its admin group)."""
    name = console.new_user("pwchd")
    console.stack.admin.create_group(f"{console.group}hd", [name])
    return name


@pytest.fixture
def twin(browser: Browser) -> Iterator[BrowserContext]:
    """A second context for axe (a script, which the console's CSP forbids: this context
    alone bypasses it), given the page's cookies, so it sees the same session."""
    context = browser.new_context(bypass_csp=True)
    try:
        yield context
    finally:
        context.close()


def _axe_as_shown(page: Page, twin: BrowserContext) -> list[str]:
    """axe on what `page` shows now, in the twin context under the same session."""
    twin.add_cookies(page.context.cookies())  # type: ignore[arg-type]
    checked = twin.pages[0] if twin.pages else twin.new_page()
    checked.goto(page.url.split("?")[0])
    checked.set_content(page.content())
    return axe_violations(checked)


def test_an_agent_verifies_a_caller_by_code_then_unlocks_and_resets_them(
    console: Console, agent: str, page: Page, twin: BrowserContext
) -> None:
    stack = console.stack
    caller = console.new_user("pwccall")
    assert stack.enroll(caller).status_code == 200
    stack.admin.lock(caller)  # the caller's account is locked in the directory
    found: dict[str, list[str]] = {}

    console.sign_in(page, agent)
    page.get_by_label("User name or e-mail contains").fill(caller)
    page.get_by_role("button", name="Apply filters").click()
    page.get_by_role("link", name=caller).click()
    page.get_by_role("link", name="Help this caller").click()
    # No action before a case is open and the caller verified.
    assert page.get_by_role("button", name="Reset the password to a one-time password").count() == 0
    page.get_by_role("button", name="Open a case").click()
    assert "Case opened" in page.get_by_role("status").inner_text()
    assert page.locator("dt:has-text('Locked in the directory') + dd").inner_text() == "Yes"
    assert page.locator("#question").inner_text()  # a question the server picked

    page.get_by_role("button", name="Send a code to the caller's e-mail or phone").click()
    assert "A code was sent" in page.get_by_role("status").inner_text()
    assert "Sent to: " in page.locator("main").inner_text()
    found["verify"] = _axe_as_shown(page, twin)
    if stack.kind == "openldap":
        shot(page, "helpdesk-verify")
    page.get_by_label("Code the caller reads out").fill("000000x")
    page.get_by_role("button", name="Check the code").click()
    assert "Wrong code" in page.get_by_role("status").inner_text()
    page.get_by_label("Code the caller reads out").fill(console.stack.code_from_mail(caller))
    page.get_by_role("button", name="Check the code").click()
    assert "The caller is verified" in page.get_by_role("status").inner_text()
    found["verified"] = _axe_as_shown(page, twin)

    page.get_by_role("button", name="Unlock the account in the directory").click()
    assert "unlocked in the directory" in page.get_by_role("status").inner_text()
    assert not stack.admin.is_locked(caller)
    assert stack.admin.bind_ok(caller, PASSWORD)

    page.get_by_role("button", name="Reset the password to a one-time password").click()
    password = page.locator("#one-time-password").inner_text()
    assert len(password) >= 16 and "shown only this once" in page.locator("main").inner_text()
    found["password"] = _axe_as_shown(page, twin)
    if stack.kind == "openldap":
        shot(page, "helpdesk-password")
    assert stack.admin.must_change(caller)
    bound = stack.admin.bind(caller, password)
    if stack.kind == "ad":
        assert (bound.ok, bound.detail) == (False, "773")  # "must change password"
    else:
        assert (bound.ok, bound.detail) == (True, "changeAfterReset")
    # Shown once: the page again does not show it.
    page.reload()
    assert password not in page.content()

    by = f"console:{stack.domain}\\{agent}"
    rows = [(e.event, e.web_user) for e in stack.audit(caller) if e.source == "helpdesk"]
    assert ("caller verified by the help desk with a code", by) in rows
    assert ("account unlocked by the help desk", by) in rows
    assert ("password reset by the help desk to a one-time password", by) in rows
    assert not any(password in f"{row}" for row in stack.audit())
    assert not any(found.values()), found


ONE = pytest.mark.parametrize("console", ["openldap"], indirect=True)


@ONE  # the console's own behaviour: one directory shows it
def test_outsiders_and_forged_forms_reach_no_help_desk_action(
    console: Console, agent: str, page: Page
) -> None:
    stack = console.stack
    caller = console.new_user("pwccall")
    assert stack.enroll(caller).status_code == 200
    path = f"{console.url}/helpdesk/{stack.domain}/{caller}"
    outsider = console.new_user("pwcout")
    console.sign_in(page, outsider)
    assert "may not use the console" in page.get_by_role("alert").inner_text()
    assert page.request.get(path, max_redirects=0).status == 303
    assert page.request.post(f"{path}/open", form={"csrf": "x"}).status == 403

    console.sign_in(page, agent)
    page.goto(path)
    page.get_by_role("button", name="Open a case").click()
    # A form without the session's token, or with another, is refused and does nothing.
    for form in ({}, {"csrf": "x" * 43}):
        assert page.request.post(f"{path}/send-code", form=form).status == 403
    assert not [m for m in stack.smtp.messages if any(caller in t for t in m.rcpt_tos)]
    # With the token but without verification, the server refuses the reset: nothing changed.
    token = page.locator('input[name="csrf"]').first.get_attribute("value") or ""
    page.request.post(f"{path}/reset", form={"csrf": token})
    page.goto(path)
    assert stack.admin.bind_ok(caller, PASSWORD)
    events = [e.event for e in stack.audit(caller) if e.source == "helpdesk"]
    assert "help desk action refused: the caller is not verified" in events
