"""Issue 3's journeys in a real browser, on OpenLDAP: built pages served by `pwreset web`,
sealed UDP to a backend, and the directory checked afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

from support.flowstack import ANSWERS, PASSWORD, QUESTIONS, FlowStack, flow_stack
from support.stacks import secret
from support.web import serve_instance

pytestmark = [pytest.mark.browser, pytest.mark.slapd]


@pytest.fixture
def site(
    request: pytest.FixtureRequest, slapd_lab, slapd_admin, tmp_path: Path
) -> Iterator[tuple[FlowStack, str]]:
    settings = getattr(request, "param", {})
    with (
        flow_stack("openldap", slapd_lab, slapd_admin, tmp_path, settings) as stack,
        serve_instance(stack.instance) as url,
    ):
        yield stack, f"{url}/pwreset"


def _message(page: Page, message_id: str) -> str:
    text = page.locator(f'#pw-messages [data-msg="{message_id}"]').first.text_content()
    assert text
    return text.strip().split("%1")[0].strip()


def _enroll(page: Page, url: str, user: str) -> None:
    page.goto(f"{url}/enroll.html?username={user}")
    page.fill("#pw-password", secret(PASSWORD))
    blocks = page.locator("[data-pw-question]")
    blocks.first.wait_for()
    assert blocks.count() == len(ANSWERS)
    for index, answer in enumerate(ANSWERS):
        block = blocks.nth(index)
        block.locator("select[name=question]").select_option(QUESTIONS[index])
        block.locator("input[name=answer]").fill(secret(answer))
    page.locator("#pw-form button[type=submit]").click()
    finished = page.locator("[data-state=finished]")
    finished.wait_for(state="visible", timeout=15000)
    assert _message(page, "RES_FINISHED_ENROLL") in finished.inner_text()


def _answer_questions(page: Page, flow: str, url: str, user: str, answers: list[str]) -> None:
    page.goto(f"{url}/{flow}.html?username={user}")
    page.locator("#pw-step-identify button[type=submit]").click()
    for answer in answers:
        step = page.locator("#pw-step-question")
        step.wait_for(state="visible", timeout=10000)
        page.fill("#pw-answer", answer)
        page.locator("#pw-step-question button[type=submit]").click()
        page.wait_for_function(
            "() => !document.querySelector('#pw-step-question [aria-busy=true]')"
        )


def test_enroll_then_reset(page: Page, site, fresh_user_name: str) -> None:
    """apr checklist 27, 45: enroll, reset, mismatched new passwords, OK back to the menu"""
    stack, url = site
    stack.admin.create_user(fresh_user_name, PASSWORD)
    _enroll(page, url, fresh_user_name)
    _answer_questions(page, "reset", url, fresh_user_name, ANSWERS)
    page.locator("#pw-step-password").wait_for(state="visible", timeout=10000)
    page.fill("#pw-new-password", secret("Browser!Reset-11"))
    page.fill("#pw-confirm-password", "Browser!Reset-12")
    page.locator("#pw-step-password button[type=submit]").click()
    error = page.locator("[data-state=error]")
    error.wait_for(state="visible")
    assert _message(page, "RES_PASSWORDS_DIFFER") in error.inner_text()  # checklist 45
    page.fill("#pw-confirm-password", "Browser!Reset-11")
    page.locator("#pw-step-password button[type=submit]").click()
    finished = page.locator("[data-state=finished]")
    finished.wait_for(state="visible", timeout=15000)
    assert _message(page, "RES_FINISHED_RESET") in finished.inner_text()
    assert stack.admin.bind_ok(fresh_user_name, "Browser!Reset-11")
    # checklist 27: OK goes back to the menu.
    finished.get_by_role("link").first.click()
    page.wait_for_url("**/pwreset/**")
    assert page.url.endswith(("/pwreset/", "/index.html"))


def test_enroll_then_unlock_after_bad_binds(page: Page, site, fresh_user_name: str) -> None:
    """apr checklist 59 in the browser: the directory locked the account after bad binds"""
    stack, url = site
    stack.admin.create_user(fresh_user_name, PASSWORD)
    _enroll(page, url, fresh_user_name)
    stack.admin.lock(fresh_user_name)
    assert stack.admin.is_locked(fresh_user_name)
    _answer_questions(page, "unlock", url, fresh_user_name, ANSWERS)
    finished = page.locator("[data-state=finished]")
    finished.wait_for(state="visible", timeout=15000)
    assert _message(page, "RES_FINISHED_UNLOCK") in finished.inner_text()
    assert not stack.admin.is_locked(fresh_user_name)
    assert stack.admin.bind_ok(fresh_user_name, PASSWORD)


@pytest.mark.parametrize("site", [{"security": {"lockout_threshold": 2}}], indirect=True)
def test_wrong_answers_lock_the_user_out(page: Page, site, fresh_user_name: str) -> None:
    """apr checklist 33 in the browser"""
    stack, url = site
    stack.admin.create_user(fresh_user_name, PASSWORD)
    _enroll(page, url, fresh_user_name)
    page.goto(f"{url}/reset.html?username={fresh_user_name}")
    page.locator("#pw-step-identify button[type=submit]").click()
    page.locator("#pw-step-question").wait_for(state="visible", timeout=10000)
    page.fill("#pw-answer", "wrong one")
    page.locator("#pw-step-question button[type=submit]").click()
    error = page.locator("[data-state=error]")
    error.wait_for(state="visible")
    assert _message(page, "RES_WRONG_ANSWER") in error.inner_text()
    page.fill("#pw-answer", "wrong again")
    page.locator("#pw-step-question button[type=submit]").click()
    stopped = page.locator("[data-state=stopped], [data-state=error]").filter(
        has_text=_message(page, "RES_LOCKED_OUT")
    )
    stopped.first.wait_for(state="visible", timeout=10000)
    assert stack.record(fresh_user_name).locked_out
