"""The languages a site is built in, described with Babel's locale data: the name each
language calls itself (for the language switch), its text direction, and negotiation of an
`Accept-Language` list against what a site offers (used by `pwreset preview`; the pages do
the same in the browser from `navigator.languages`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from babel.core import Locale, UnknownLocaleError, negotiate_locale

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


def negotiate(accept: Sequence[str], offered: Sequence[str]) -> str | None:
    """The offered language that best matches a browser's preferences (most wanted first),
    with Babel's matching rules (`de-CH` finds `de`)."""
    preferred = [tag.replace("-", "_") for tag in accept]
    available = [tag.replace("-", "_") for tag in offered]
    found = negotiate_locale(preferred, available, sep="_")
    if found is None:
        # Babel matches a bare language against regional offers only through its alias
        # table; also accept the language part alone ("de-AT" for "de").
        bare = [tag.split("_")[0].lower() for tag in preferred]
        found = negotiate_locale(bare, available, sep="_")
    if found is None:
        return None
    return offered[available.index(found)]


def parse_accept_language(header: str) -> list[str]:
    """`Accept-Language` as tags, most wanted first (q=0 entries dropped)."""
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and tag != "*" and quality > 0:
            weighted.append((-quality, index, tag.strip()))
    return [tag for _, _, tag in sorted(weighted)]
