"""`pwreset web --serve-site` answers a visitor who has not chosen a language in the language
their browser asks for (`Accept-Language`), before any page script runs; a choice made with
the language switch still wins on the next visit."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Response

from support.backend import start_backend
from support.web import serve_instance

pytestmark = pytest.mark.browser

CONFIG = """
[web]
server = "127.0.0.1:{port}"

[sites.hr]
languages = ["en", "de", "fr"]
domains = ["EXAMPLE"]
"""
FRENCH = "fr-CH, fr;q=0.9, en;q=0.8"
FRENCH_MENU = "Que souhaitez-vous faire\u00a0?"  # French puts a no-break space before "?"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    backend = start_backend(tmp_path_factory.mktemp("instance"), CONFIG)
    try:
        with serve_instance(backend.folder) as url:
            yield f"{url}/hr"
    finally:
        backend.stop()


def browser_in(browser: Browser, locale: str, accept: str, **options: bool) -> BrowserContext:
    return browser.new_context(
        locale=locale, extra_http_headers={"Accept-Language": accept}, **options
    )


def heading(context: BrowserContext) -> str:
    return context.pages[0].get_by_role("heading", level=1).inner_text()


def redirected_by_the_server(response: Response | None, start: str) -> bool:
    """The page arrived through an HTTP redirect from `start` (not a move by the page)."""
    assert response is not None
    previous = response.request.redirected_from
    return previous is not None and previous.url == start


def test_a_french_browser_lands_on_the_french_pages(browser: Browser, site: str) -> None:
    context = browser_in(browser, "fr-CH", FRENCH)
    page = context.new_page()
    response = page.goto(f"{site}/")
    assert redirected_by_the_server(response, f"{site}/")
    assert page.url == f"{site}/fr/"
    assert heading(context) == FRENCH_MENU

    # A deep link from a mail or a portal, with the account filled in.
    response = page.goto(f"{site}/reset.html?username=jsmith")
    assert redirected_by_the_server(response, f"{site}/reset.html?username=jsmith")
    assert page.url == f"{site}/fr/reset.html?username=jsmith"
    assert heading(context) == "Réinitialisez votre mot de passe"
    assert page.get_by_label("Nom d'utilisateur").input_value() == "jsmith"
    context.close()


def test_without_javascript_the_server_alone_picks_the_language(
    browser: Browser, site: str
) -> None:
    context = browser_in(browser, "fr-CH", FRENCH, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{site}/")
    assert heading(context) == FRENCH_MENU
    context.close()


def test_a_language_the_site_lacks_gets_the_main_language(browser: Browser, site: str) -> None:
    context = browser_in(browser, "fi-FI", "fi-FI, fi;q=0.9, sv;q=0.8")
    page = context.new_page()
    response = page.goto(f"{site}/")
    assert response is not None and response.request.redirected_from is None
    page.wait_for_load_state()
    assert page.url == f"{site}/"
    assert heading(context) == "What would you like to do?"
    # The answer depended on the browser's languages: caches are told so.
    assert "Accept-Language" in response.headers["vary"]
    assert response.headers["cache-control"] == "private, no-cache"
    context.close()


def test_a_language_chosen_on_the_page_wins_on_the_next_visit(browser: Browser, site: str) -> None:
    context = browser_in(browser, "fr-CH", FRENCH)
    page = context.new_page()
    page.goto(f"{site}/")
    page.wait_for_url(f"{site}/fr/")
    page.get_by_role("navigation", name="Langue").get_by_role("link", name="English").click()
    page.wait_for_url(f"{site}/index.html")
    assert heading(context) == "What would you like to do?"

    # Next visit, at the site's address and at a deep link: English, though the browser
    # still asks for French.
    for start, lands in ((f"{site}/", f"{site}/index.html"), (f"{site}/change.html", None)):
        page.goto(start)
        page.wait_for_url(lands or start)
        page.wait_for_load_state()
        assert page.evaluate("document.documentElement.lang") == "en"
    assert heading(context) == "Change your password"

    # Choosing German sticks the same way.
    page.get_by_role("navigation", name="Language").get_by_role("link", name="Deutsch").click()
    page.wait_for_url(f"{site}/de/change.html")
    page.goto(f"{site}/")
    page.wait_for_url(f"{site}/de/index.html")
    assert heading(context) == "Was möchten Sie tun?"
    context.close()
