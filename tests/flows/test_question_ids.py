"""How an enrolled question is found again and shown in the page's language (unit)."""

from __future__ import annotations

from pwreset.config.flow_settings import EnrollSettings
from pwreset.server.flows.questions import prompt, question_id

EN = ["First pet?", "Home town?", "First school?"]
DE = ["Erstes Haustier?", "Heimatstadt?", "Erste Schule?"]
SETTINGS = EnrollSettings(question_list={"en": EN, "de": DE})


def test_an_old_record_without_ids_is_translated_by_its_text() -> None:
    """security review 5a: records enrolled before question ids still show translated"""
    assert prompt(SETTINGS, {"q": "Home town?", "h": {}}, "de") == "Heimatstadt?"
    assert prompt(SETTINGS, {"q": "Heimatstadt?", "h": {}}, "en") == "Home town?"


def test_a_reworded_question_is_found_by_its_position() -> None:
    reworded = EnrollSettings(question_list={"en": ["Pet?", *EN[1:]], "de": DE})
    assert prompt(reworded, {"q": "First pet?", "id": 0, "h": {}}, "en") == "Pet?"


def test_custom_questions_and_unknown_languages() -> None:
    assert question_id(SETTINGS, "My own question?", "en") is None
    assert prompt(SETTINGS, {"q": "My own question?", "id": None, "h": {}}, "de") == (
        "My own question?"
    )
    assert prompt(SETTINGS, {"q": "First school?", "id": 2, "h": {}}, "fr") == "First school?"
