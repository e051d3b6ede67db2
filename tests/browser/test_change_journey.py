"""The whole stack in a real browser: built pages served by `pwreset web`, sealed UDP to
`pwreset server`, a real OpenLDAP directory, and Debian's Chromium driving the change page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.stacks import Stack, secret, slapd_stack
from support.web import serve_instance

__all__ = ["slapd_stack"]

pytestmark = [pytest.mark.browser, pytest.mark.slapd]

OLD = "Init!Passw0rd-1"


@pytest.fixture(scope="module")
def web(slapd_stack: Stack) -> Iterator[str]:
    with serve_instance(slapd_stack.instance) as url:
        yield url


def _message(page, message_id: str) -> str:
    text = page.locator(f'#pw-messages [data-msg="{message_id}"]').text_content()
    assert text
    return text.strip()


def _submit(page, web: str, user: str, old: str, new: str, confirm: str | None = None) -> None:
    page.goto(f"{web}/pwreset/")
    page.get_by_role("link", name="Change").first.click()
    page.wait_for_url("**/change.html")
    page.fill("#pw-username", user)
    assert page.input_value("#pw-domain") == "EXAMPLE"  # the first listed domain
    page.fill("#pw-old-password", secret(old))
    page.fill("#pw-new-password", secret(new))
    page.fill("#pw-confirm-password", confirm if confirm is not None else new)
    page.click("button[type=submit]")


def test_user_changes_password_in_the_browser(page, web, slapd_admin, fresh_user_name):
    slapd_admin.create_user(fresh_user_name, secret(OLD))
    _submit(page, web, fresh_user_name, OLD, "Browser!Passw0rd-2")
    finished = page.locator("[data-state=finished]")
    finished.wait_for(state="visible", timeout=10000)
    assert _message(page, "RES_FINISHED_CHANGE") in finished.inner_text()
    assert page.locator("#pw-form").is_hidden()
    assert slapd_admin.bind_ok(fresh_user_name, "Browser!Passw0rd-2")
    assert not slapd_admin.bind_ok(fresh_user_name, OLD)


@pytest.mark.parametrize(
    ("case", "message_id"),
    [
        ("wrong", "RES_WRONG_PASSWORD"),
        ("short", "RES_POLICY_TOO_SHORT"),
        # security review, low: a locked account's password is never proven.
        ("locked", "RES_WRONG_PASSWORD"),
    ],
)
def test_failures_show_their_own_message(page, web, slapd_admin, fresh_user_name, case, message_id):
    slapd_admin.create_user(fresh_user_name, secret(OLD))
    old, new = OLD, "Browser!Passw0rd-3"
    if case == "wrong":
        old = "Not!TheRightOne-9"
    elif case == "short":
        new = "Ab1!"
    else:
        slapd_admin.lock(fresh_user_name)
    _submit(page, web, fresh_user_name, old, new)
    error = page.locator("[data-state=error]")
    error.wait_for(state="visible", timeout=10000)
    text = error.inner_text()
    assert _message(page, message_id) in text
    assert "error occurred" not in text.lower()
    assert page.locator("[data-state=finished]").is_hidden()
