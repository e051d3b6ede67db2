"""The web console's language per request: the switcher's choice (remembered in the session),
else the browser's `Accept-Language`, else English; its text direction; and dates and numbers
in its forms (Babel's CLDR data, as the expiry notices use).

The language is set once per request (`use`) and read by the templates' helpers, so a page
added later speaks the admin's language without passing it along.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any
from urllib.parse import urlencode

from babel.core import Locale
from babel.dates import format_date, format_datetime, format_time
from babel.numbers import format_decimal

from pwreset.accept_language import negotiate, parse_accept_language
from pwreset.console.web.messages import DEFAULT, LANGUAGES, message
from pwreset.server.storage.query import display

QUERY = "lang"  # the switcher's links: ?lang=de


@dataclass(frozen=True)
class Chosen:
    """The request's language, and where the switcher's links lead (the same page)."""

    language: str = DEFAULT
    path: str = "/"
    query: tuple[tuple[str, str], ...] = ()

    def switch_url(self, language: str) -> str:
        kept = [(k, v) for k, v in self.query if k != QUERY]
        return f"{self.path}?{urlencode([*kept, (QUERY, language)])}"


_current: ContextVar[Chosen] = ContextVar("console_language")
_UNSET = Chosen()  # outside a request: English


def offered(language: str | None) -> str | None:
    """`language` if the console speaks it."""
    return language if language in LANGUAGES else None


def choose(asked: str | None, remembered: str | None, accept_language: str) -> str:
    """The switcher's choice (`asked`), the session's, or the browser's best."""
    return (
        offered(asked)
        or offered(remembered)
        or negotiate(parse_accept_language(accept_language), LANGUAGES, DEFAULT)
    )


def use(language: str, path: str, query: list[tuple[str, str]]) -> None:
    _current.set(Chosen(language, path, tuple(query)))


def current() -> Chosen:
    return _current.get(_UNSET)


def t(key: str) -> str:
    """The text `key` in the request's language."""
    return message(key, _current.get(_UNSET).language)


@cache
def _locale(language: str) -> Locale:
    return Locale.parse(language)


def direction(language: str) -> str:
    """`ltr` or `rtl`, for the page's `dir`."""
    return _locale(language).text_direction


def autonym(language: str) -> str:
    """The language's name in itself, as the switcher shows it ("Deutsch", "العربية")."""
    return (_locale(language).get_display_name(language) or language).capitalize()


def show(value: Any, kind: str) -> str:
    """A table cell in the request's language: times and numbers in its forms, yes/no words."""
    if value is None or value == "":
        return ""
    locale = _locale(_current.get(_UNSET).language)
    if kind == "time":
        return format_datetime(datetime.fromtimestamp(float(value)), "medium", locale=locale)
    if kind == "bool":
        return t("filter.yes") if value else t("filter.no")
    if kind == "number" and isinstance(value, int | float):
        return format_decimal(value, locale=locale)
    if kind == "list":
        return display(value, kind)
    return str(value)


def cell(row: dict[str, Any], name: str, kind: str) -> str:
    """An audit row's day and clock from its moment, in the request's forms; else `show`."""
    moment = row.get("time")
    if name in ("date", "clock") and isinstance(moment, int | float):
        at = datetime.fromtimestamp(moment)
        locale = _locale(_current.get(_UNSET).language)
        if name == "date":
            return format_date(at.date(), "medium", locale=locale)
        return format_time(at.time(), "medium", locale=locale)
    return show(row.get(name), kind)


def day(value: date) -> str:
    return format_date(value, "medium", locale=_locale(_current.get(_UNSET).language))


def number(value: int) -> str:
    return format_decimal(value, locale=_locale(_current.get(_UNSET).language))
