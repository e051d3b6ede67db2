"""An authenticator app in a real browser, on OpenLDAP: set up on the enroll page (the QR
code drawn, the key read from the page as a user types it into the app), then a reset with
the app's code; recovery codes shown once on the enroll page, then one used in a reset,
and removed from the enroll page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

from support.axe import axe_violations
from support.flowstack import PASSWORD, FlowStack, flow_stack
from support.stacks import secret
from support.totp_app import app_code, generate_codes, next_step
from support.web import serve_instance

pytestmark = [pytest.mark.browser, pytest.mark.slapd]


@pytest.fixture
def site(slapd_lab, slapd_admin, tmp_path: Path) -> Iterator[tuple[FlowStack, str]]:
    # An authenticator app's code or a recovery code proves a reset (either's weight is the
    # threshold): the reset page asks which.
    settings = {
        "factors": {"questions": False, "weights": {"code": 0, "passkey": 0}},
        "security": {"reply_floor_ms": 0},
    }
    with (
        flow_stack("openldap", slapd_lab, slapd_admin, tmp_path, settings) as stack,
        serve_instance(stack.instance) as url,
    ):
        yield stack, f"{url}/pwreset"


def _open_session(page: Page, url: str, user: str) -> None:
    """The enroll page's other ways, opened with the account's password."""
    page.goto(f"{url}/enroll.html?username={user}")
    page.fill("#pw-password", secret(PASSWORD))
    page.locator("[data-pw-factors-start]").click()
    page.locator("[data-pw-factors-pieces]").wait_for(state="visible", timeout=10000)


def _reset_with(page: Page, url: str, user: str, kind: str, code: str, new: str) -> None:
    page.goto(f"{url}/reset.html?username={user}")
    page.locator("#pw-step-identify button[type=submit]").click()
    page.locator("#pw-step-choose").wait_for(state="visible", timeout=10000)
    page.check(f"#pw-factor-{kind}")
    page.locator("#pw-step-choose button[type=submit]").click()
    step = page.locator(f"#pw-step-{kind}")
    step.wait_for(state="visible", timeout=10000)
    page.fill(f"#pw-{kind}-code", code)
    step.locator("button[type=submit]").click()
    page.locator("#pw-step-password").wait_for(state="visible", timeout=10000)
    page.fill("#pw-new-password", secret(new))
    page.fill("#pw-confirm-password", new)
    page.locator("#pw-step-password button[type=submit]").click()
    page.locator("[data-state=finished]").wait_for(state="visible", timeout=15000)


def test_an_app_and_recovery_codes_set_up_on_the_enroll_page_reset_the_password(
    page: Page, site, fresh_user_name: str
) -> None:
    stack, url = site
    user = fresh_user_name
    stack.admin.create_user(user, PASSWORD)
    _open_session(page, url, user)

    # The app: the QR code drawn, the key read from the page, a current code confirming it.
    app = page.locator("#pw-totp")
    app.locator("[data-pw-totp-begin]").click()
    key = page.locator("#pw-totp-secret")
    key.wait_for(state="visible", timeout=10000)
    assert page.locator("[data-pw-qr] svg path").count() == 1
    shown = secret(key.inner_text())
    page.fill("#pw-totp-confirm-code", app_code(shown, stack.clock()))
    app.locator("button[type=submit]").click()
    app.locator("[data-pw-totp-done]").wait_for(state="visible", timeout=10000)
    assert key.inner_text() == ""  # the key leaves the page once the app has it

    # Ten codes, shown once; "Done" only once they are saved, and then they leave the page.
    codes_box = page.locator("#pw-recovery-codes")
    codes_box.locator("[data-pw-codes-generate]").click()
    listed = page.locator("#pw-codes-list li")
    listed.first.wait_for(timeout=10000)
    codes = [secret(code) for code in listed.all_inner_texts()]
    assert len(codes) == 10
    done = codes_box.locator("[data-pw-codes-done]")
    assert done.is_disabled()
    page.check("#pw-codes-saved")
    done.click()
    codes_box.locator("[data-pw-codes-finished]").wait_for(state="visible")
    assert listed.count() == 0
    assert set(stack.record(user).factors) >= {"totp", "recovery_code"}

    next_step(stack)
    _reset_with(page, url, user, "totp", app_code(shown, stack.clock()), "Browser!Totp-11")
    assert stack.admin.bind_ok(user, "Browser!Totp-11")
    _reset_with(page, url, user, "recovery_code", codes[0], "Browser!Code-12")
    assert stack.admin.bind_ok(user, "Browser!Code-12")


def test_recovery_codes_are_removed_from_the_enroll_page(
    page: Page, site, fresh_user_name: str
) -> None:
    """A user who has recovery codes sees a button to remove them, also while a new set is
    on screen; once removed, the page says so, the codes leave the screen, they stop being
    a factor, and none of them works."""
    stack, url = site
    user = fresh_user_name
    stack.admin.create_user(user, PASSWORD)
    generate_codes(stack, user)
    _open_session(page, url, user)
    codes_box = page.locator("#pw-recovery-codes")
    remove = codes_box.locator("[data-pw-codes-remove]")
    remove.wait_for(state="visible", timeout=10000)
    # A new set made, then removed before it was saved.
    codes_box.locator("[data-pw-codes-generate]").click()
    listed = page.locator("#pw-codes-list li")
    listed.first.wait_for(timeout=10000)
    codes = [secret(code) for code in listed.all_inner_texts()]
    remove.click()
    removed = codes_box.locator("[data-pw-codes-removed]")
    removed.wait_for(state="visible", timeout=10000)
    assert removed.evaluate("node => node === document.activeElement")
    assert listed.count() == 0 and not codes_box.locator("[data-pw-codes-shown]").is_visible()
    assert codes_box.locator("[data-pw-codes-generate]").is_visible()  # a new set may be made
    assert not codes_box.locator("[data-pw-codes-finished]").is_visible()
    assert not remove.is_visible()  # nothing left to remove
    assert axe_violations(page) == []
    assert "recovery_code" not in stack.record(user).factors
    started = stack.start("reset", user)
    chosen = stack.step("reset", started.json()["flow"], factor="recovery_code")
    refused = stack.step("reset", chosen.json()["flow"], code=codes[0])
    assert refused.json()["code"] == "wrong_code", refused.text
