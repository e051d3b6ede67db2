"""The web console in every language the pages ship: each text translated in each catalogue,
the language chosen from the switcher, the session or Accept-Language, right-to-left for
Arabic, and dates and numbers in the language's forms (the pages in Chromium:
tests/browser/test_console.py)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from starlette.requests import Request
from starlette.testclient import TestClient

import pwreset.cli  # noqa: F401  (first: the console's modules are loaded through the CLI)
from pwreset.config import load_config
from pwreset.console.web import languages
from pwreset.console.web.app import _use_language, create_console_app
from pwreset.console.web.messages import CATALOGUES, EN, LANGUAGES, TRANSLATED

from support.console_instance import UNREACHED_DOMAIN

ROOT = Path(__file__).resolve().parents[2]
THEME = ROOT / "themes" / "default" / "messages"
CONFIG = UNREACHED_DOMAIN + '[console]\nadmin_groups = ["pwreset-admins"]\n'


def test_the_console_speaks_every_language_the_pages_ship() -> None:
    assert set(LANGUAGES) == {path.stem for path in THEME.glob("*.po")}


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != "en"])
def test_every_text_has_its_translation(language: str) -> None:
    catalogue = TRANSLATED[language]
    missing = [key for key in EN if not catalogue.get(key, "").strip()]
    assert not missing, (
        f"{CATALOGUES / f'{language}.po'} lacks a translation of {len(missing)} text(s) of "
        f"console/web/messages.py: {', '.join(missing)}"
    )
    stale = sorted(set(catalogue) - set(EN))
    assert not stale, f"{CATALOGUES / f'{language}.po'}: ids English no longer has: {stale}"
    # Nothing left in English by mistake (a few words are the same in both, like "Filter").
    same = [key for key in EN if catalogue[key] == EN[key] and " " in EN[key]]
    assert not same, f"{language}: still English: {same}"


def test_the_language_is_the_switchers_else_the_sessions_else_the_browsers() -> None:
    assert languages.choose(None, None, "ar, en;q=0.5") == "ar"
    assert languages.choose(None, None, "pt-BR, fr;q=0.5") == "pt"
    assert languages.choose(None, None, "ja") == "en"
    assert languages.choose(None, "sv", "ar") == "sv"
    assert languages.choose("de", "sv", "ar") == "de"
    assert languages.choose("xx", "sv", "ar") == "sv"  # not offered: ignored
    assert languages.direction("ar") == "rtl" and languages.direction("de") == "ltr"


def test_dates_and_numbers_take_the_languages_forms() -> None:
    moment = datetime(2026, 3, 5, 14, 7).timestamp()
    shown = {}
    for language in ("en", "de", "ar"):
        languages.use(language, "/", [])
        shown[language] = (languages.show(moment, "time"), languages.number(12345))
    assert shown["en"] == ("Mar 5, 2026, 2:07:00\u202fPM", "12,345")
    assert shown["de"] == ("05.03.2026, 14:07:00", "12.345")
    assert "2026" in shown["ar"][0] and shown["ar"] != shown["en"]
    languages.use("en", "/", [])


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    (tmp_path / "pwreset.toml").write_text(CONFIG)
    app = create_console_app(load_config(tmp_path / "pwreset.toml"))
    return TestClient(app, base_url="https://console.test")


def test_the_sign_in_page_follows_the_browser_and_the_switcher(client: TestClient) -> None:
    german = client.get("/signin", headers={"Accept-Language": "de-CH, en;q=0.5"}).text
    assert '<html lang="de" dir="ltr">' in german and "Passwort" in german
    assert '<input type="hidden" name="lang" value="de">' in german  # the session starts in it
    arabic = client.get("/signin?lang=ar", headers={"Accept-Language": "de"}).text
    assert '<html lang="ar" dir="rtl">' in arabic and "كلمة المرور" in arabic
    # The switcher: each language by its own name, the current one marked, the page kept.
    assert 'href="/signin?lang=sv" lang="sv" hreflang="sv">Svenska</a>' in arabic
    assert 'lang="ar" hreflang="ar" aria-current="true">العربية</a>' in arabic
    assert client.get("/signin?lang=xx", headers={"Accept-Language": "fr"}).text.count(
        '<html lang="fr"'
    )


def test_the_switcher_leads_back_to_the_same_page_with_its_filters(client: TestClient) -> None:
    page = client.get("/signin?expired=1&lang=de").text
    assert 'href="/signin?expired=1&amp;lang=fr"' in page
    # A name with characters a path must encode stays encoded in the links.
    scope = {"type": "http", "method": "GET", "path": "/users/LAB/a#b?c", "headers": [],
             "raw_path": b"/users/LAB/a%23b%3Fc", "query_string": b"lang=it&q=x"}  # fmt: skip
    assert _use_language(Request(scope), None) == "it"
    assert languages.current().switch_url("fr") == "/users/LAB/a%23b%3Fc?q=x&lang=fr"
    languages.use("en", "/", [])
