"""Which configured question an enrollment holds, and its text in the page's language.

An enrollment keeps each question's text as chosen and its position (`id`) in the configured
lists, which are parallel across languages. Shown, it is found again by text (so a reordered
list still works), else by position (so a reworded question still works), and given in the
language of the request, as decoy questions are. A question typed by the user (custom
questions) is in no list and is shown as typed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pwreset.config.flow_settings import EnrollSettings


def pool(settings: EnrollSettings, lang: str) -> list[str]:
    """The questions offered in `lang` (English when there is no list for it)."""
    return settings.question_list.get(lang) or settings.question_list["en"]


def question_id(settings: EnrollSettings, text: str, lang: str) -> int | None:
    """The position of `text` in the lists (the `lang` list first), or None if typed."""
    lists = [settings.question_list.get(lang) or [], *settings.question_list.values()]
    for questions in lists:
        if text in questions:
            return questions.index(text)
    return None


def prompt_at(settings: EnrollSettings, index: int, lang: str) -> str | None:
    for questions in (pool(settings, lang), settings.question_list["en"]):
        if 0 <= index < len(questions):
            return questions[index]
    return None


def prompt(settings: EnrollSettings, entry: Mapping[str, Any], lang: str) -> str:
    """The text to show for one enrolled question (`{"q", "id"?, "h"}`) in `lang`."""
    text = str(entry.get("q", ""))
    index = question_id(settings, text, lang)
    if index is None and isinstance(entry.get("id"), int):
        index = entry["id"]
    shown = prompt_at(settings, index, lang) if index is not None else None
    return shown or text
