"""An authenticator app in a real browser, on OpenLDAP: set up on the enroll page (the QR
code drawn, the key read from the page as a user types it into the app), then a reset with
the app's code; recovery codes shown once on the enroll page, then one used in a reset."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

from pwreset.server.flows.factors import policy

from support.totp_app import app_code, next_step
from support.flowstack import PASSWORD, FlowStack, flow_stack
from support.stacks import secret
from support.web import serve_instance

pytestmark = [pytest.mark.browser, pytest.mark.slapd]


@pytest.fixture
def site(slapd_lab, slapd_admin, tmp_path: Path, monkeypatch) -> Iterator[tuple[FlowStack, str]]:
    kinds = ("totp", "recovery_code")
    rules = policy.Policy(offer=kinds, threshold=1, weights=dict.fromkeys(kinds, 1))
    monkeypatch.setattr(policy, "site_policy", lambda config, site, mode: rules)
    with (
        flow_stack("openldap", slapd_lab, slapd_admin, tmp_path, {}) as stack,
        serve_instance(stack.instance) as url,
    ):
        yield stack, f"{url}/pwreset"


def _open_session(page: Page, url: str, user: str) -> None:
    page.goto(f"{url}/enroll.html?username={user}")
    raise NotImplementedError


def _reset_with(page: Page, url: str, user: str, kind: str, code: str) -> None:
    page.goto(f"{url}/reset.html?username={user}")
    page.locator("#pw-step-identify button[type=submit]").click()
    page.locator("#pw-step-choose").wait_for(state="visible", timeout=10000)
    raise NotImplementedError


def test_an_app_set_up_on_the_enroll_page_resets_the_password(
    page: Page, site, fresh_user_name: str
) -> None:
    stack, url = site
    stack.admin.create_user(fresh_user_name, PASSWORD)
    _open_session(page, url, fresh_user_name)
    box = page.locator("#pw-totp")
    box.locator("[data-pw-totp-begin]").click()
    key = page.locator("#pw-totp-secret")
    key.wait_for(state="visible", timeout=10000)
    assert page.locator("[data-pw-qr] svg path").count() == 1
    shown = secret(key.inner_text())
    page.fill("#pw-totp-confirm-code", app_code(shown, stack.clock()))
    box.locator("button[type=submit]").click()
    box.locator("[data-pw-totp-done]").wait_for(state="visible", timeout=10000)
    assert key.inner_text() == ""  # the key leaves the page
    assert "totp" in stack.record(fresh_user_name).factors

    next_step(stack)
    _reset_with(page, url, fresh_user_name, "totp", app_code(shown, stack.clock()))
    page.fill("#pw-new-password", secret("Browser!Totp-11"))
    page.fill("#pw-confirm-password", "Browser!Totp-11")
    page.locator("#pw-step-password button[type=submit]").click()
    page.locator("[data-state=finished]").wait_for(state="visible", timeout=15000)
    assert stack.admin.bind_ok(fresh_user_name, "Browser!Totp-11")
