"""The password rules on the reset page, in a real browser against the whole stack (built
pages served by `pwreset web`, a backend, OpenLDAP): the user sees the rules, sees them
ticked off as they type, and a breached password is refused naming its rule (issue 11,
apr checklist 72-73)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page
from test_journeys import _answer_questions, _enroll

from pwreset.server.passwords import read_ranges, write_breached_file

from support.axe import axe_violations
from support.flowstack import ANSWERS, PASSWORD, FlowStack, flow_stack
from support.pwned import SAMPLE
from support.stacks import secret
from support.web import serve_instance

pytestmark = [pytest.mark.browser, pytest.mark.slapd]

BREACHED = "P@ssw0rd"  # in the shipped sample


@pytest.fixture
def site(slapd_lab, slapd_admin, tmp_path: Path) -> Iterator[tuple[FlowStack, str]]:
    breached = tmp_path / "breached.bin"
    (tmp_path / "stack").mkdir()
    write_breached_file(breached, read_ranges(SAMPLE))
    settings = {"password_policy": {"breached_file": str(breached)}}
    with (
        flow_stack("openldap", slapd_lab, slapd_admin, tmp_path / "stack", settings) as stack,
        serve_instance(stack.instance) as url,
    ):
        yield stack, f"{url}/pwreset"


def _rule(page: Page, rule_id: str):
    return page.locator(f'[data-pw-rules] [data-rule="{rule_id}"]')


def test_reset_page_shows_ticks_and_names_the_rules(page: Page, site, fresh_user_name) -> None:
    stack, url = site
    stack.admin.create_user(fresh_user_name, PASSWORD)
    _enroll(page, url, fresh_user_name)
    _answer_questions(page, "reset", url, fresh_user_name, ANSWERS)
    form = page.locator("#pw-step-password")
    form.wait_for(state="visible", timeout=10000)

    # The rules are shown, as text, before anything is typed.
    rules = page.locator("[data-pw-rules]")
    assert rules.is_visible()
    ids = rules.locator("[data-rule]").evaluate_all("items => items.map(i => i.dataset.rule)")
    assert {"min_length", "user_names", "breached", "history"} <= set(ids)
    length = _rule(page, "min_length")
    assert "8" in length.inner_text()  # the lab's ppolicy: pwdMinLength 8
    not_met = page.locator('#pw-messages [data-msg="UI_RULE_NOT_MET"]').text_content().strip()
    met = page.locator('#pw-messages [data-msg="UI_RULE_MET"]').text_content().strip()
    assert not_met in length.inner_text()

    # Ticked off as the user types, in words (and said in the status line).
    page.locator("#pw-new-password").press_sequentially("Short-1")
    assert length.get_attribute("data-met") == "false"
    assert _rule(page, "user_names").get_attribute("data-met") == "true"
    page.locator("#pw-new-password").press_sequentially("-longer!")
    assert length.get_attribute("data-met") == "true"
    assert met in length.inner_text()
    assert length.locator(".pw-rule__text").inner_text() in (
        page.locator("[data-pw-rules-status]").text_content()
    )
    page.fill("#pw-new-password", f"{fresh_user_name}-Long-1!")
    assert _rule(page, "user_names").get_attribute("data-met") == "false"
    assert axe_violations(page) == []

    # A breached password meets the page's rules but is refused, naming the rule.
    page.fill("#pw-new-password", secret(BREACHED))
    assert length.get_attribute("data-met") == "true"
    page.fill("#pw-confirm-password", BREACHED)
    page.locator("#pw-step-password button[type=submit]").click()
    error = page.locator("[data-state=error]")
    error.wait_for(state="visible", timeout=10000)
    lines = error.locator("p").all_inner_texts()
    assert lines[1:] == [_rule(page, "breached").locator(".pw-rule__text").inner_text()]
    assert _rule(page, "breached").get_attribute("data-refused") == "true"
    assert stack.admin.bind_ok(fresh_user_name, PASSWORD)
    assert axe_violations(page) == []
