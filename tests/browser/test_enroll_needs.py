"""The enroll page asks only for what the policy needs, in a real browser on OpenLDAP: a site
without security questions whose policy needs an authenticator app shows no questions, marks
the app as needed (a label and a status line naming it), clears the mark once the app is set
up and marks it again once it is removed; the page passes axe."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page
from test_authenticator import _open_session

from support.axe import axe_violations
from support.flowstack import PASSWORD, FlowStack, flow_stack
from support.stacks import secret
from support.totp_app import app_code
from support.web import serve_instance

pytestmark = [pytest.mark.browser, pytest.mark.slapd]


@pytest.fixture
def site(slapd_lab, slapd_admin, tmp_path: Path) -> Iterator[tuple[FlowStack, str]]:
    settings = {
        "security": {"reply_floor_ms": 0},
        "factors": {"questions": False, "mandatory": ["totp"], "threshold": 2},
    }
    with (
        flow_stack("openldap", slapd_lab, slapd_admin, tmp_path, settings) as stack,
        serve_instance(stack.instance) as url,
    ):
        yield stack, f"{url}/pwreset"


def test_the_needed_app_is_marked_until_it_is_set_up(page: Page, site, fresh_user_name) -> None:
    stack, url = site
    user = fresh_user_name
    stack.admin.create_user(user, PASSWORD)
    _open_session(page, url, user)

    # No questions anywhere on the page; the app marked as needed, and said so.
    assert page.locator('[data-pw-kind="questions"], [data-pw-questions]').count() == 0
    assert page.locator(".pw-lead").inner_text().startswith("Confirm your account, then set up")
    app = page.locator("#pw-totp")
    mark = app.locator("[data-pw-needed]")
    assert mark.is_visible() and mark.inner_text() == "Needed by your organisation"
    assert page.locator("#pw-recovery-codes [data-pw-needed]").is_hidden()
    needs = page.locator("[data-pw-needs]")
    assert needs.get_attribute("role") == "status"
    assert needs.inner_text() == "Still needed by your organisation: Authenticator app"
    assert axe_violations(page) == []

    app.locator("[data-pw-totp-begin]").click()
    key = page.locator("#pw-totp-secret")
    key.wait_for(state="visible", timeout=10000)
    page.fill("#pw-totp-confirm-code", app_code(secret(key.inner_text()), stack.clock()))
    app.locator("button[type=submit]").click()
    app.locator("[data-pw-totp-done]").wait_for(state="visible", timeout=10000)

    # Set up: the mark goes, and the status line says nothing more is needed.
    assert mark.is_hidden()
    assert needs.inner_text() == "You have set up everything your organisation needs."
    assert axe_violations(page) == []

    # Removed again: needed again.
    app.locator("[data-pw-totp-remove]").click()
    app.locator("[data-pw-totp-removed]").wait_for(state="visible", timeout=10000)
    assert "totp" not in stack.record(user).factors
    assert mark.is_visible()
    assert needs.inner_text() == "Still needed by your organisation: Authenticator app"
