"""Passkeys in a real browser with Chromium's virtual authenticator (WebAuthn over the
DevTools protocol): built pages served by `pwreset web` on http://localhost (a secure
context), sealed UDP to a backend on OpenLDAP, the directory checked afterwards. Passkeys
are added, renamed and removed on the enroll page and used on the reset page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import CDPSession, Page, expect

from support.axe import axe_violations
from support.flowstack import PASSWORD, FlowStack, flow_stack
from support.stacks import free_port, secret
from support.web import serve_instance

pytestmark = [pytest.mark.browser, pytest.mark.slapd]

# A platform authenticator with resident keys and user verification, that says yes.
AUTHENTICATOR = {"protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
                 "hasUserVerification": True, "isUserVerified": True,
                 "automaticPresenceSimulation": True}  # fmt: skip


@pytest.fixture
def site(slapd_lab, slapd_admin, tmp_path: Path) -> Iterator[tuple[FlowStack, str]]:
    port = free_port("tcp")
    origin = f"http://localhost:{port}"
    settings: dict[str, Any] = {
        "sites": {"pwreset": {"passkey_rp_id": "localhost", "passkey_origins": [origin]}},
        "security": {"reply_floor_ms": 0},
        # A passkey alone: the only factor offered.
        "factors": {"questions": False, "threshold": 3,
                    "weights": {"code": 0, "totp": 0, "recovery_code": 0}},
    }  # fmt: skip
    with (
        flow_stack("openldap", slapd_lab, slapd_admin, tmp_path, settings) as stack,
        serve_instance(stack.instance, port=port),
    ):
        yield stack, f"{origin}/pwreset"


class Authenticators:
    """The page's virtual authenticators: one plugged in at a time, so the browser's choice
    is never in doubt."""

    def __init__(self, page: Page) -> None:
        self.cdp: CDPSession = page.context.new_cdp_session(page)
        self.cdp.send("WebAuthn.enable")
        self.current = ""

    def plug(self, *credentials: dict[str, Any]) -> str:
        """A new authenticator holding `credentials`, in place of the one plugged in."""
        if self.current:
            self.cdp.send("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": self.current})
        added = self.cdp.send("WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR})
        self.current = added["authenticatorId"]
        for credential in credentials:
            self.cdp.send("WebAuthn.addCredential",
                          {"authenticatorId": self.current, "credential": credential})  # fmt: skip
        return self.current

    def credentials(self) -> list[dict[str, Any]]:
        found = self.cdp.send("WebAuthn.getCredentials", {"authenticatorId": self.current})
        return list(found["credentials"])


def message(page: Page, message_id: str) -> str:
    return page.locator(f'#pw-messages [data-msg="{message_id}"]').inner_text().strip()


def open_session(page: Page, url: str, user: str, password: str = PASSWORD) -> None:
    """The enroll page's other ways, opened with the account's password."""
    page.goto(f"{url}/enroll.html?username={user}")
    page.fill("#pw-password", secret(password))
    page.locator("[data-pw-factors-start]").click()
    page.locator("[data-pw-factors-pieces]").wait_for(state="visible", timeout=10000)


def add_passkey(page: Page, name: str) -> list[str]:
    """Add a passkey named `name` on the enroll page; the names listed after it."""
    box = page.locator("#pw-passkeys")
    box.get_by_label("Name of the new passkey").fill(name)
    box.get_by_role("button", name="Add a passkey").click()
    box.locator("[data-pw-passkey-status]").filter(has_text="added").wait_for(timeout=10000)
    return box.locator(".pw-passkey__name").all_inner_texts()


def reset_page_passkey(page: Page, url: str, user: str) -> None:
    page.goto(f"{url}/reset.html?username={user}")
    page.locator("#pw-step-identify button[type=submit]").click()
    page.locator("#pw-step-passkey").wait_for(state="visible", timeout=10000)
    page.get_by_role("button", name="Use a passkey").click()


def reset_with_passkey(page: Page, url: str, user: str, new_password: str) -> None:
    reset_page_passkey(page, url, user)
    set_new_password(page, new_password)


def set_new_password(page: Page, new_password: str) -> None:
    page.locator("#pw-step-password").wait_for(state="visible", timeout=10000)
    page.fill("#pw-new-password", secret(new_password))
    page.fill("#pw-confirm-password", new_password)
    page.locator("#pw-step-password button[type=submit]").click()
    finished = page.locator("[data-state=finished]")
    finished.wait_for(state="visible", timeout=15000)
    assert message(page, "RES_FINISHED_RESET") in finished.inner_text()


def refused_on_reset_page(page: Page, url: str, user: str) -> str:
    """The error the reset page shows after the passkey step."""
    reset_page_passkey(page, url, user)
    error = page.locator("[data-state=error]")
    error.wait_for(state="visible", timeout=10000)
    return error.inner_text().strip()


def enrolled(page: Page, stack: FlowStack, url: str, user: str, name: str) -> Authenticators:
    """A new directory user who added a passkey named `name` on the enroll page, with the
    authenticator holding it plugged in."""
    stack.admin.create_user(user, PASSWORD)
    authenticators = Authenticators(page)
    authenticators.plug()
    open_session(page, url, user)
    assert add_passkey(page, name) == [name]
    return authenticators


def test_a_passkey_added_at_enroll_resets_and_a_clone_is_refused(
    page: Page, site, fresh_user_name: str
) -> None:
    stack, url = site
    user = fresh_user_name
    authenticators = enrolled(page, stack, url, user, "Work laptop")
    reset_with_passkey(page, url, user, "Passkey!Reset-31")
    assert stack.admin.bind_ok(user, "Passkey!Reset-31")

    # A clone: the same key, its signature counter behind the one the server saw last.
    (credential,) = authenticators.credentials()
    assert credential["signCount"] >= 2
    authenticators.plug({**credential, "signCount": 0})
    assert refused_on_reset_page(page, url, user) == message(page, "RES_PASSKEY_REFUSED")
    events = [row.event for row in stack.audit(user)]
    assert any("cloned authenticator" in event for event in events), events


def test_a_second_passkey_added_and_the_first_removed(
    page: Page, site, fresh_user_name: str
) -> None:
    stack, url = site
    user = fresh_user_name
    authenticators = enrolled(page, stack, url, user, "Phone")
    (phone,) = authenticators.credentials()
    authenticators.plug()  # a security key
    assert add_passkey(page, "Security key") == ["Phone", "Security key"]
    (key,) = authenticators.credentials()

    box = page.locator("#pw-passkeys")
    box.get_by_role("button", name="Remove Phone").click()
    box.locator("[data-pw-passkey-status]").filter(has_text="removed").wait_for(timeout=10000)
    assert box.locator(".pw-passkey__name").all_inner_texts() == ["Security key"]

    authenticators.plug(phone)  # the removed passkey no longer works
    assert refused_on_reset_page(page, url, user) == message(page, "RES_PASSKEY_REFUSED")
    # Another try on the same page, with the new challenge the refusal carried.
    authenticators.plug(key)
    page.get_by_role("button", name="Use a passkey").click()
    set_new_password(page, "Passkey!Reset-32")
    assert stack.admin.bind_ok(user, "Passkey!Reset-32")


def test_a_passkey_renamed_on_the_enroll_page(page: Page, site, fresh_user_name: str) -> None:
    """The row turns into a form for the new name: Escape leaves the name as it was, an
    empty name is refused at the field, Enter stores it; the key still resets."""
    stack, url = site
    user = fresh_user_name
    enrolled(page, stack, url, user, "Phone")
    box = page.locator("#pw-passkeys")
    names = box.locator(".pw-passkey__name")

    box.get_by_role("button", name="Rename Phone").click()
    field = box.get_by_label("New name for Phone")
    expect(field).to_be_focused()
    expect(field).to_have_value("Phone")
    field.press("Escape")
    expect(box.get_by_role("button", name="Rename Phone")).to_be_focused()
    assert names.all_inner_texts() == ["Phone"]

    box.get_by_role("button", name="Rename Phone").click()
    field.fill("   ")
    field.press("Enter")
    error = page.locator("[data-state=error]")
    expect(error).to_have_text(message(page, "RES_EMPTY_FIELD_NAME"))
    expect(field).to_have_attribute("aria-invalid", "true")
    assert axe_violations(page) == []
    field.press("Escape")  # the error goes with the box it was about
    expect(error).to_be_hidden()

    box.get_by_role("button", name="Rename Phone").click()
    field.fill("Work phone")
    field.press("Enter")
    status = box.locator("[data-pw-passkey-status]")
    expect(status).to_have_text(message(page, "RES_PASSKEY_RENAMED"))
    expect(box.get_by_role("button", name="Rename Work phone")).to_be_focused()
    assert names.all_inner_texts() == ["Work phone"] and error.is_hidden()
    record = stack.record(user)
    assert record is not None and "'Work phone'" in str(record.enrollment)
    events = [row.event for row in stack.audit(user)]
    assert events.count("passkey 'Phone' renamed to 'Work phone'") == 1, events

    reset_with_passkey(page, url, user, "Passkey!Reset-33")
    assert stack.admin.bind_ok(user, "Passkey!Reset-33")
    assert "passkey 'Work phone' used" in [row.event for row in stack.audit(user)]
