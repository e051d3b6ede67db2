"""Languages (catalogues complete, one set of pages per language, the switch) and the two
stock themes (the second extends the first; per-site options)."""

from __future__ import annotations

import re

import pytest
from builder_support import Document, Instance

from pwreset.builder import BuildError, build_sites
from pwreset.builder.messages import read_catalogue
from pwreset.builder.themes import STOCK_THEMES
from pwreset.config.flow_settings import DEFAULT_QUESTIONS, EnrollSettings, VerificationSettings
from pwreset.config.notify_settings import CodeMail, stock_alerts
from pwreset.protocol.codes import ERRORS

MESSAGES = STOCK_THEMES / "default" / "messages"
PLACEHOLDER = re.compile(r"%\d")


# Every language the stock theme ships a catalogue for; the server-side texts must follow.
SHIPPED = sorted(file.stem for file in MESSAGES.glob("*.po"))
REQUIRED = {"en", "de", "fr", "es", "it", "nl", "pt", "pl", "sv", "ar"}
MACRO = re.compile(r"\[[A-Z_]+\]")


def test_the_ten_languages_ship() -> None:
    assert set(SHIPPED) >= REQUIRED


@pytest.mark.parametrize("lang", SHIPPED)
def test_every_shipped_language_has_every_text_english_has(lang: str) -> None:
    """Page catalogue, default questions, code mail, SMS text and stock alerts: a language
    that lacks an id English has would show English (or nothing) to its users."""
    english, texts = read_catalogue(MESSAGES / "en.po"), read_catalogue(MESSAGES / f"{lang}.po")

    assert sorted(set(english) - set(texts)) == []
    assert sorted(set(texts) - set(english)) == []
    for message_id, text in english.items():
        # Same placeholders, so the page script fills every language the same way.
        assert sorted(PLACEHOLDER.findall(texts[message_id])) == sorted(
            PLACEHOLDER.findall(text)
        ), message_id

    # The default question list: as many questions as English, each one the enroll step
    # accepts (the schema applies the same 64-character limit as the relay and backend).
    questions = DEFAULT_QUESTIONS[lang]
    assert len(questions) == len(DEFAULT_QUESTIONS["en"])
    EnrollSettings.model_validate(
        {"question_list": {"en": DEFAULT_QUESTIONS["en"], lang: questions}}
    )

    code_mail = CodeMail().text[lang]
    assert "[CODE]" in code_mail.subject + code_mail.body
    assert "[CODE]" in VerificationSettings().sms_text[lang]
    for event, alert in stock_alerts().items():
        english_alert, alert_text = alert.text["en"], alert.text[lang]
        for part in ("subject", "body"):
            assert sorted(MACRO.findall(getattr(alert_text, part))) == sorted(
                MACRO.findall(getattr(english_alert, part))
            ), (event, part)


def test_every_message_the_relay_can_send_has_a_text() -> None:
    english = read_catalogue(MESSAGES / "en.po")

    missing = sorted({kind.message_id for kind in ERRORS.values()} - set(english))
    assert missing == []


def test_each_language_gets_its_own_pages_with_a_switch(instance: Instance) -> None:
    build_sites(instance.config('[sites.hr]\nlanguages = ["en", "de"]\n'))

    en = Document(instance.read("hr/reset.html"))
    de = Document(instance.read("hr/de/reset.html"))
    assert (en.find("html").attrs["lang"], de.find("html").attrs["lang"]) == ("en", "de")
    assert de.find("h1").text == "Passwort zurücksetzen"
    assert de.message("RES_WRONG_ANSWER").startswith("Diese Antwort stimmt nicht")
    assert de.find("link", rel="stylesheet").attrs["href"].startswith("../assets/pwreset.")
    switch = {
        a.attrs["hreflang"]: a.attrs["href"] for a in de.find_all("a", class_="pw-languages__link")
    }
    assert switch == {"en": "../reset.html"}
    assert de.find("span", class_="pw-languages__current").text == "Deutsch"
    alternates = {
        link.attrs["hreflang"]: link.attrs["href"] for link in en.find_all("link", rel="alternate")
    }
    assert alternates == {"en": "reset.html", "de": "de/reset.html"}


def test_arabic_pages_read_right_to_left_with_fields_that_stay_left_to_right(
    instance: Instance,
) -> None:
    build_sites(instance.config('[sites.hr]\nlanguages = ["en", "ar"]\n'))

    for page in ("index.html", "reset.html", "enroll.html", "change.html", "unlock.html"):
        doc = Document(instance.read(f"hr/ar/{page}"))
        html = doc.find("html")
        assert (html.attrs["lang"], html.attrs["dir"]) == ("ar", "rtl"), page
    reset = Document(instance.read("hr/ar/reset.html"))
    assert reset.find("h1").text == "أعد تعيين كلمة مرورك"
    # Passwords and codes are typed left to right; a name follows what is typed.
    assert reset.find("input", id="pw-new-password").attrs["dir"] == "ltr"
    assert reset.find("input", id="pw-code").attrs["dir"] == "ltr"
    assert reset.find("input", id="pw-username").attrs["dir"] == "auto"
    # The switch names each language in itself, and English pages stay left to right.
    assert reset.find("span", class_="pw-languages__current").text == "العربية"
    english = Document(instance.read("hr/reset.html")).find("html")
    assert (english.attrs["lang"], english.attrs["dir"]) == ("en", "ltr")


def test_a_single_language_site_has_no_switch(instance: Instance) -> None:
    build_sites(instance.config("[sites.hr]\n"))

    doc = Document(instance.read("hr/index.html"))
    assert not doc.find_all("nav", class_="pw-languages")


def test_an_unknown_language_names_the_site(instance: Instance) -> None:
    with pytest.raises(BuildError) as caught:
        build_sites(instance.config('[sites.hr]\nlanguages = ["en", "xx"]\n'))

    assert caught.value.site == "hr"
    assert "unknown language 'xx'" in str(caught.value)


def test_a_language_without_a_catalogue_falls_back_to_english(instance: Instance) -> None:
    # Finnish does not ship: a designer adds the ids they translate in custom/.
    instance.write("custom/messages/fi.toml", 'MENU_HEADING = "Mitä haluat tehdä?"\n')
    build_sites(instance.config('[sites.hr]\nlanguages = ["en", "fi"]\n'))

    doc = Document(instance.read("hr/fi/index.html"))
    assert doc.find("h1").text == "Mitä haluat tehdä?"
    assert doc.find("p", class_="pw-lead").text.startswith("Manage your work account")


def test_contrast_theme_extends_default_with_its_own_options_and_header(
    instance: Instance,
) -> None:
    build_sites(instance.config('[sites.kiosk]\ntheme = "contrast"\n[sites.hr]\n'))

    kiosk, hr = (
        Document(instance.read("kiosk/index.html")),
        Document(instance.read("hr/index.html")),
    )
    assert kiosk.find_all("header", class_="pw-header--band")
    assert not hr.find_all("header", class_="pw-header--band")
    css = instance.read("kiosk/" + kiosk.find("link", rel="stylesheet").attrs["href"])
    assert "--pw-primary: #00307a;" in css and "--pw-text-size: 1.125rem;" in css
    assert ".pw-header--band" in css  # its extra.css, appended
    # Everything it does not change comes from default.
    assert kiosk.find_all("a", class_="pw-menu__item")


def test_a_site_sets_theme_options_of_its_own(instance: Instance) -> None:
    config = instance.config('[sites.hr]\n[sites.hr.options]\nprimary = "#0b6e4f"\n[sites.it]\n')
    build_sites(config)

    def css(vdir: str) -> str:
        href = Document(instance.read(f"{vdir}/index.html")).find("link", rel="stylesheet")
        return instance.read(f"{vdir}/{href.attrs['href']}")

    assert "--pw-primary: #0b6e4f;" in css("hr")
    assert "--pw-primary: #1d4ed8;" in css("it")


def test_an_unknown_site_option_is_refused(instance: Instance) -> None:
    with pytest.raises(BuildError, match=r"sites.hr.options.primry: the theme has no such option"):
        build_sites(instance.config('[sites.hr.options]\nprimry = "#000"\n'))
