"""The built pages in a real browser, served by a plain static server with a strict CSP.

The relay is not involved: the form's checks run in the page, and where a reply is needed
Playwright answers the API request (the end-to-end test against the relay lives elsewhere).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import ConsoleMessage, Page, Route
from static_site import serve

from pwreset.builder import build_sites
from pwreset.config.loader import parse_config

pytestmark = pytest.mark.browser

CONFIG = {
    "sites": {
        "hr": {"title": "HR self-service", "domains": ["EXAMPLE", "LAB"]},
        "it": {"title": "IT self-service"},
    }
}


@pytest.fixture(scope="module")
def site_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("instance")
    config = parse_config(json.loads(json.dumps(CONFIG)), root / "pwreset.toml")
    build_sites(config)
    with serve(root / "site") as url:
        yield url


@pytest.fixture(autouse=True)
def meta(page: Page) -> None:
    """The change page asks for its password rules (GET meta) when it loads."""
    policy = {"version": 1, "rules": [{"id": "min_length", "message": "RES_RULE_MIN_LENGTH",
                                       "params": {"n": 8}, "checked_by": "page"}]}  # fmt: skip
    body = json.dumps({"password_policy": policy})
    page.route("**/api/v1/meta", lambda route: route.fulfill(
        status=200, content_type="application/json", body=body))  # fmt: skip


@pytest.fixture
def console_errors(page: Page) -> Iterator[list[str]]:
    """Console errors (a CSP violation is one); each test asserts there were none."""
    errors: list[str] = []

    def collect(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", collect)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield errors


def text_of(page: Page, message_id: str) -> str:
    """The page's own text for a message id (from its hidden message block)."""
    return page.locator(f'#pw-messages [data-msg="{message_id}"]').inner_text().strip()


def fill_change_form(page: Page, **values: str) -> None:
    fields = {
        "username": "alice",
        "old_password": "Old-secret-1",
        "new_password": "New-secret-2",
        "confirm_password": "New-secret-2",
        **values,
    }
    for name, value in fields.items():
        page.fill(f'[name="{name}"]', value)


def test_menu_links_to_the_change_page(
    page: Page, site_url: str, console_errors: list[str]
) -> None:
    page.goto(f"{site_url}/hr/index.html")

    link = page.get_by_role("link", name="Change my password")
    assert link.get_attribute("href") == "change.html"
    link.click()
    page.wait_for_url("**/hr/change.html")
    assert page.get_by_role("heading", level=1).inner_text() == "Change your password"
    assert console_errors == []


def test_deep_link_prefills_username_and_domain(
    page: Page, site_url: str, console_errors: list[str]
) -> None:
    page.goto(f"{site_url}/hr/change.html?username=alice&domain=lab")
    assert page.get_by_label("Username").input_value() == "alice"
    # The drop-down picks the listed domain whatever the case in the link.
    assert page.locator("select#pw-domain").input_value() == "LAB"

    page.goto(f"{site_url}/it/change.html?username=bob&domain=EXAMPLE")
    assert page.get_by_label("Username").input_value() == "bob"
    assert page.locator("input#pw-domain").input_value() == "EXAMPLE"
    assert console_errors == []


def test_empty_username_is_reported_before_sending(
    page: Page, site_url: str, console_errors: list[str]
) -> None:
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(f"{site_url}/hr/change.html")
    fill_change_form(page, username="")

    page.get_by_role("button", name="Change password").click()

    error = page.locator('[data-state="error"]')
    assert error.inner_text().strip() == text_of(page, "RES_EMPTY_FIELD_USERNAME")
    assert page.evaluate("document.activeElement.id") == "pw-error"
    assert page.get_by_label("Username").get_attribute("aria-invalid") == "true"
    # Nothing sent: the only call is the page's own GET meta for the password rules.
    assert not [url for url in requests if "/api/" in url and not url.endswith("/api/v1/meta")]
    assert console_errors == []


def test_different_new_passwords_are_reported(
    page: Page, site_url: str, console_errors: list[str]
) -> None:
    page.goto(f"{site_url}/hr/change.html")
    fill_change_form(page, confirm_password="Something-else-3")

    page.get_by_role("button", name="Change password").click()

    assert page.get_by_role("alert").inner_text().strip() == text_of(page, "RES_PASSWORDS_DIFFER")
    assert console_errors == []


@pytest.mark.parametrize("width", [320, 375])
def test_change_page_fits_a_phone_without_horizontal_scrolling(
    page: Page, site_url: str, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 800})
    for name in ("index.html", "change.html"):
        page.goto(f"{site_url}/hr/{name}")
        fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert fits, f"{name} scrolls sideways at {width} px"
    box = page.get_by_label("New password", exact=True).bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width


def test_reply_done_shows_the_finished_state(
    page: Page, site_url: str, console_errors: list[str]
) -> None:
    sent: list[Any] = []

    def relay(route: Route) -> None:
        sent.append((route.request.headers["content-type"], route.request.post_data_json))
        route.fulfill(
            status=200,
            content_type="application/json",
            body=json.dumps({"status": "done", "message": "RES_FINISHED_CHANGE_INVITE"}),
        )

    page.route("**/hr/api/v1/change", relay)
    page.goto(f"{site_url}/hr/change.html")
    fill_change_form(page)
    page.get_by_role("button", name="Change password").click()

    finished = page.locator('[data-state="finished"]')
    finished.wait_for()
    assert finished.get_attribute("role") == "status"
    assert text_of(page, "RES_FINISHED_CHANGE_INVITE") in finished.inner_text()
    assert page.locator("#pw-form").is_hidden()
    assert sent == [
        (
            "application/json",
            {
                "domain": "EXAMPLE",
                "username": "alice",
                "old_password": "Old-secret-1",
                "new_password": "New-secret-2",
                "lang": "en",
            },
        )
    ]
    page.get_by_role("link", name="OK").click()
    page.wait_for_url("**/hr/index.html")
    assert console_errors == []


def problem(message: str, detail: str, **params: str) -> str:
    return json.dumps(
        {
            "type": "about:blank",
            "title": "Unprocessable",
            "status": 422,
            "detail": detail,
            "code": "password_rejected",
            "message": message,
            "params": params,
        }
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            problem("RES_POLICY_REJECTED", "x", reason="Too similar to the old one"),
            ["RES_POLICY_REJECTED", "Reason given by the directory: Too similar to the old one"],
        ),
        (problem("RES_NOT_A_KNOWN_ID", "The relay's own words."), ["The relay's own words."]),
        (
            problem("RES_REQUEST_FAILED", "x", server="10.0.0.5:5100"),
            ["The password service (10.0.0.5:5100) could not be reached."],
        ),
        ("<html>proxy error</html>", ["The password service could not be reached."]),
    ],
)
def test_error_replies_show_the_page_text(
    page: Page, site_url: str, body: str, expected: list[str]
) -> None:
    page.route(
        "**/hr/api/v1/change",
        lambda route: route.fulfill(status=422, content_type="application/problem+json", body=body),
    )
    page.goto(f"{site_url}/hr/change.html")
    fill_change_form(page)
    page.get_by_role("button", name="Change password").click()

    error = page.locator('[data-state="error"]')
    error.wait_for()
    lines = error.locator("p").all_inner_texts()
    assert len(lines) == len(expected)
    for line, wanted in zip(lines, expected, strict=True):
        if wanted.startswith("RES_"):
            assert line == text_of(page, wanted)
        else:
            assert line.startswith(wanted)
    assert page.evaluate("document.activeElement.id") == "pw-error"
    assert page.get_by_role("button", name="Change password").is_enabled()


def test_network_failure_shows_request_failed(page: Page, site_url: str) -> None:
    page.route("**/hr/api/v1/change", lambda route: route.abort("connectionrefused"))
    page.goto(f"{site_url}/hr/change.html")
    fill_change_form(page)
    page.get_by_role("button", name="Change password").click()

    error = page.locator('[data-state="error"]')
    error.wait_for()
    # The "(%1)" placeholder is dropped when no server is named.
    assert error.inner_text().strip() == text_of(page, "RES_REQUEST_FAILED").replace(" (%1)", "")
    assert "%1" not in error.inner_text()


def test_submit_is_disabled_while_the_request_is_in_flight(page: Page, site_url: str) -> None:
    held: list[Route] = []
    page.route("**/hr/api/v1/change", lambda route: held.append(route))
    page.goto(f"{site_url}/hr/change.html")
    fill_change_form(page)
    button = page.get_by_role("button", name="Change password")
    button.click()

    page.wait_for_function("document.querySelector('[aria-busy=\"true\"]') !== null")
    assert button.is_disabled()
    assert len(held) == 1
    held[0].fulfill(
        status=401,
        content_type="application/problem+json",
        body=problem("RES_WRONG_PASSWORD", "x"),
    )
    page.locator('[data-state="error"]').wait_for()
    assert button.is_enabled()
    assert button.get_attribute("aria-busy") == "false"
