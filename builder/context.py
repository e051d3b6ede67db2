"""What a template sees: small read-only views of the site, the theme and the page, and the
relative links between a page and its versions in other languages.

Every URL a page contains is relative, so a built site works under any path prefix (behind
a reverse proxy, from a file share, or from `site/` opened in a browser).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pwreset.builder.languages import Language
from pwreset.builder.messages import Catalog
from pwreset.builder.pages import Page
from pwreset.protocol.limits import PAGE_FIELDS


@dataclass(frozen=True)
class SiteView:
    """What templates see of the site's configuration (never server or key settings).

    `flows` are the flows that have a page on this site, in menu order.
    """

    vdir: str
    title: str
    language: str  # the main language (pages at the site root)
    domains: tuple[str, ...]
    flows: tuple[str, ...]


@dataclass(frozen=True)
class ThemeView:
    name: str
    options: Mapping[str, str]


@dataclass(frozen=True)
class LanguageLink:
    """The current page in one of the site's languages, for the switch and `hreflang`."""

    tag: str
    name: str
    href: str


def folder_prefix(folder: str) -> str:
    """From a page in `folder` (relative to the site root) back up to the site root."""
    return "../" * len([part for part in folder.split("/") if part])


def page_path(folder: str, page: Page) -> str:
    return f"{folder}/{page.output}" if folder else page.output


def language_links(
    page: Page, languages: Sequence[Language], here: str, folder_of: Callable[[Language], str]
) -> list[LanguageLink]:
    """Links from the page in folder `here` to the same page in every language."""
    up = folder_prefix(here)
    return [
        LanguageLink(language.tag, language.name, up + page_path(folder_of(language), page))
        for language in languages
    ]


def page_context(
    *,
    site: SiteView,
    theme: ThemeView,
    api_base: str,
    menu: Sequence[Page],
    catalog: Catalog,
    asset_url: Callable[[str], str],
    page: Page,
    language: Language,
    languages: Sequence[LanguageLink],
    alternates: Sequence[LanguageLink],
    root: str,
) -> dict[str, Any]:
    """The variables of one page's template (documented in docs/themes.md)."""
    return {
        "site": site,
        "theme": theme,
        "api_base": api_base,
        "menu": menu,
        # The most characters each field may hold, for `maxlength` (the relay's limits).
        "limits": PAGE_FIELDS,
        "msg": catalog.text,
        "client_messages": catalog.client_messages,
        "asset": lambda name: root + asset_url(name),
        "page": page,
        "lang": language,
        "languages": languages,
        # Only real pages list their other-language versions as <link rel="alternate">;
        # the script reads those to choose a language, which gallery pages must not do.
        "alternates": alternates,
    }
