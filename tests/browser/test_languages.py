"""Which language a visitor gets: the language switch (remembered), then `?lang=`, then the
browser's languages; the deep-link fields survive every redirect."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page
from static_site import serve

from pwreset.builder import build_sites
from pwreset.config.loader import parse_config

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("instance")
    config = {"sites": {"hr": {"languages": ["en", "de", "fr", "ar"], "domains": ["EXAMPLE"]}}}
    build_sites(parse_config(json.loads(json.dumps(config)), root / "pwreset.toml"))
    with serve(root / "site") as url:
        yield url


def tab(browser: Browser, locale: str) -> Page:
    return browser.new_context(locale=locale).new_page()


def heading(page: Page) -> str:
    return page.get_by_role("heading", level=1).inner_text()


def test_the_browsers_language_picks_the_pages(browser: Browser, site: str) -> None:
    page = tab(browser, "de-AT")
    page.goto(f"{site}/hr/change.html?username=jsmith")

    page.wait_for_url("**/hr/de/change.html?username=jsmith")
    assert heading(page) == "Passwort ändern"
    assert page.get_by_label("Benutzername").input_value() == "jsmith"
    page.context.close()


def test_lang_parameter_beats_the_browser(browser: Browser, site: str) -> None:
    page = tab(browser, "en-US")
    page.goto(f"{site}/hr/index.html?lang=de")

    page.wait_for_url("**/hr/de/index.html?lang=de")
    assert heading(page) == "Was möchten Sie tun?"
    page.context.close()


def test_the_switch_is_remembered_and_beats_everything(browser: Browser, site: str) -> None:
    page = tab(browser, "de-DE")
    page.goto(f"{site}/hr/reset.html?username=jsmith")
    page.wait_for_url("**/hr/de/reset.html?username=jsmith")

    page.get_by_role("navigation", name="Sprache").get_by_role("link", name="English").click()
    page.wait_for_url("**/hr/reset.html?username=jsmith")
    assert heading(page) == "Reset your password"
    assert page.get_by_label("Username").input_value() == "jsmith"
    # Later visits stay English, whatever the browser or the link says.
    page.goto(f"{site}/hr/change.html?lang=de")
    page.wait_for_load_state()
    assert heading(page) == "Change your password"
    page.context.close()


def test_a_language_the_site_lacks_keeps_the_main_one(browser: Browser, site: str) -> None:
    page = tab(browser, "fi-FI")
    page.goto(f"{site}/hr/index.html")
    page.wait_for_load_state()

    assert page.url.endswith("/hr/index.html")
    assert heading(page) == "What would you like to do?"
    page.context.close()


def test_a_new_language_is_picked_from_the_browser(browser: Browser, site: str) -> None:
    page = tab(browser, "fr-CA")
    page.goto(f"{site}/hr/reset.html?username=jsmith")

    page.wait_for_url("**/hr/fr/reset.html?username=jsmith")
    assert heading(page) == "Réinitialisez votre mot de passe"
    assert page.get_by_label("Nom d'utilisateur").input_value() == "jsmith"
    page.context.close()


def test_arabic_pages_are_mirrored(browser: Browser, site: str) -> None:
    """Right to left: text starts at the right, the menu's arrows sit at the left edge and
    point left, and the password a user types still runs left to right."""
    page = tab(browser, "ar-EG")
    page.goto(f"{site}/hr/index.html")
    page.wait_for_url("**/hr/ar/index.html")
    assert heading(page) == "ماذا تريد أن تفعل؟"
    assert page.evaluate("getComputedStyle(document.documentElement).direction") == "rtl"

    item = page.locator(".pw-menu__item").first
    box = item.bounding_box()
    heading_box = page.get_by_role("heading", level=1).bounding_box()
    assert box is not None and heading_box is not None
    # The heading ends at the card's right edge, as the menu items do.
    assert abs((heading_box["x"] + heading_box["width"]) - (box["x"] + box["width"])) < 2
    arrow = item.evaluate(
        "el => { const s = getComputedStyle(el, '::after');"
        " return {left: parseFloat(s.left), right: parseFloat(s.right)}; }"
    )
    assert arrow["left"] < arrow["right"]  # nearer the left edge
    # The room kept for the arrow is on the left too.
    padding = item.evaluate(
        "el => [parseFloat(getComputedStyle(el).paddingLeft),"
        " parseFloat(getComputedStyle(el).paddingRight)]"
    )
    assert padding[0] > padding[1]

    page.goto(f"{site}/hr/ar/change.html")
    assert page.locator("#pw-new-password").evaluate("el => getComputedStyle(el).direction") == (
        "ltr"
    )
    assert page.locator("#pw-username").get_attribute("dir") == "auto"
    page.context.close()
