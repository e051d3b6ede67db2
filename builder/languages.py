"""The languages a site is built in, described with Babel's locale data: the name each
language calls itself (for the language switch) and its text direction. (Which language a
visitor gets: the page script, and `pwreset web` from `Accept-Language`, see
pwreset.api.accept_language.)"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from babel.core import Locale, UnknownLocaleError

from pwreset.builder.errors import BuildError
from pwreset.builder.messages import check_language


@dataclass(frozen=True)
class Language:
    """One language of a site, and where its pages live relative to the site folder."""

    tag: str  # as configured, e.g. "de" or "pt-BR"; also the `lang` attribute
    name: str  # in the language itself ("Deutsch"), for the switch
    direction: str  # "ltr" or "rtl", for the `dir` attribute
    folder: str  # "" for the site's main language (pages at the site root), else the tag


def describe(tag: str, *, main: bool) -> Language:
    check_language(tag)
    try:
        locale = Locale.parse(tag, sep="-")
    except (UnknownLocaleError, ValueError) as exc:
        raise BuildError("messages", f"unknown language {tag!r}: {exc}") from None
    name = locale.get_display_name(locale) or tag
    return Language(
        tag=tag,
        name=name[:1].upper() + name[1:],
        direction=locale.text_direction,
        folder="" if main else tag,
    )


def site_languages(main: str, offered: Sequence[str]) -> tuple[Language, ...]:
    """The site's main language first (its pages sit at the site root, so links that name
    no language keep working), then the other offered languages, each in its folder."""
    tags = list(dict.fromkeys([main, *offered]))
    return tuple(describe(tag, main=(tag == main)) for tag in tags)
