"""`Accept-Language` (RFC 9110 §12.5.4) read and matched against the languages a site (or the
web console) offers, with Babel's matching rules plus a region fallback both ways (`pt-BR`
finds `pt`, `de` finds `de-AT`). The header is client input: malformed entries are dropped,
and only its first `MAX_HEADER` characters and `MAX_RANGES` entries are read, so the work is
bounded."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from babel.core import negotiate_locale

MAX_HEADER = 1024
MAX_RANGES = 32
ANY = "*"

_RANGE = re.compile(r"[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*|\*")
_QVALUE = re.compile(r"0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?")


@dataclass(frozen=True)
class LanguagePreferences:
    """A browser's languages: wanted ones most wanted first (`*`, any language, in its
    place), and those it refuses (`q=0`)."""

    wanted: tuple[str, ...] = ()
    refused: tuple[str, ...] = ()


def parse_accept_language(header: str) -> LanguagePreferences:
    if len(header) > MAX_HEADER:
        # Cut at the last whole entry, so no truncated tag or weight is read.
        header = header[:MAX_HEADER].rpartition(",")[0]
    weighted: list[tuple[float, int, str]] = []
    refused: list[str] = []
    for index, entry in enumerate(header.split(",")[:MAX_RANGES]):
        tag, *params = (part.strip() for part in entry.split(";"))
        quality = _quality(params)
        if not _RANGE.fullmatch(tag) or quality is None:
            continue
        if quality > 0:
            weighted.append((-quality, index, tag))
        elif tag != ANY:  # "*;q=0" refuses only what is not named; nothing to record
            refused.append(tag)
    wanted = tuple(tag for _, _, tag in sorted(weighted))
    return LanguagePreferences(wanted=wanted, refused=tuple(refused))


def negotiate(preferences: LanguagePreferences, offered: Sequence[str], default: str) -> str:
    """The offered language the browser wants most; `default` (the site's main language)
    when it wants none of them, or wants any (`*`) before one of them."""
    acceptable = [tag for tag in offered if not any(_covers(r, tag) for r in preferences.refused)]
    for wanted in preferences.wanted:
        if wanted == ANY:
            return default if default in acceptable or not acceptable else acceptable[0]
        found = _match(wanted, acceptable)
        if found is not None:
            return found
    return default


def _quality(params: list[str]) -> float | None:
    """The entry's weight (1 when it has none); None when a `q` parameter is malformed."""
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            value = value.strip()
            return float(value) if _QVALUE.fullmatch(value) else None
    return 1.0


def _covers(language_range: str, tag: str) -> bool:
    """RFC 4647 basic filtering: `fr` covers `fr` and `fr-CA`."""
    language_range, tag = language_range.lower(), tag.lower()
    return tag == language_range or tag.startswith(language_range + "-")


def _match(wanted: str, offered: Sequence[str]) -> str | None:
    # Babel: the same tag, its alias, or its language alone ("pt-BR" finds "pt").
    # Babel answers in the casing of the wanted tag or of its alias table, so look the
    # answer up case-insensitively.
    by_name = {tag.replace("-", "_").lower(): tag for tag in offered}
    found = negotiate_locale([wanted.replace("-", "_")], list(by_name), sep="_")
    if found is not None:
        return by_name[found.lower()]
    # The same language in another region ("de" or "de-CH" finds "de-AT"), as the pages do.
    language = wanted.split("-")[0].lower()
    return next((tag for tag in offered if tag.split("-")[0].lower() == language), None)
