"""Which pages a site gets, in which languages, and where each one lives.

The pages: the menu, one page per enabled flow that has a template, and the critical-error
page. Flows are data: a flow added to the schema shows up once some layer provides
`<flow>.html`. The languages are described with Babel's locale data (the name each calls
itself, its text direction). The main language's pages sit at the site root (so links that
name no language keep working), every other language's in a folder named after it
(`de/change.html`). Which language a visitor gets: the page script, and `pwreset web` from
`Accept-Language` (pwreset.accept_language).

Every URL a page contains is relative, so a built site works under any path prefix (behind
a reverse proxy, from a file share, or from `site/` opened in a browser).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from babel.core import Locale, UnknownLocaleError

from pwreset.builder.errors import BuildError
from pwreset.builder.messages import check_language

log = logging.getLogger(__name__)

MENU = "index"
# The critical-error page (the original product's error template): not a menu entry.
ERROR = "error"


@dataclass(frozen=True)
class Page:
    """One output page; `flow` is None for the menu."""

    name: str
    flow: str | None

    @property
    def template(self) -> str:
        return f"{self.name}.html"

    @property
    def output(self) -> str:
        return f"{self.name}.html"

    @property
    def href(self) -> str:
        """The link to this page from another page of the same site."""
        return self.output


@dataclass(frozen=True)
class Language:
    """One language of a site, and where its pages live relative to the site folder."""

    tag: str  # as configured, e.g. "de" or "pt-BR"; also the `lang` attribute
    name: str  # in the language itself ("Deutsch"), for the switch
    direction: str  # "ltr" or "rtl", for the `dir` attribute
    folder: str  # "" for the site's main language (pages at the site root), else the tag


@dataclass(frozen=True)
class LanguageLink:
    """The current page in one of the site's languages, for the switch and `hreflang`."""

    tag: str
    name: str
    href: str


def site_pages(
    vdir: str, flows: Sequence[str], has_template: Callable[[str], bool]
) -> tuple[Page, ...]:
    """The menu first, then the enabled flows in the site's own order (the menu's order),
    then the error page when some layer has one."""
    pages = [Page(MENU, None)]
    for flow in flows:
        page = Page(flow, flow)
        if has_template(page.template):
            pages.append(page)
        else:
            log.warning(
                "site %r: flow %r is enabled but no layer has %s; it is left out",
                vdir,
                flow,
                page.template,
            )
    error = Page(ERROR, None)
    if has_template(error.template):
        pages.append(error)
    return tuple(pages)


def site_languages(main: str, offered: Sequence[str]) -> tuple[Language, ...]:
    """The site's main language first, then the other offered languages, each in its folder."""
    tags = list(dict.fromkeys([main, *offered]))
    return tuple(_describe(tag, main=(tag == main)) for tag in tags)


def _describe(tag: str, *, main: bool) -> Language:
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


def folder_prefix(folder: str) -> str:
    """From a page in `folder` (relative to the site root) back up to the site root."""
    return "../" * len([part for part in folder.split("/") if part])


def page_path(folder: str, page: Page) -> str:
    return f"{folder}/{page.output}" if folder else page.output


def language_links(
    page: Page,
    languages: Sequence[Language],
    here: str,
    folder_of: Callable[[Language], str] | None = None,
) -> list[LanguageLink]:
    """Links from the page in folder `here` to the same page in every language, each in
    `folder_of(language)` (by default the language's own folder)."""
    up = folder_prefix(here)
    return [
        LanguageLink(
            language.tag,
            language.name,
            up + page_path(folder_of(language) if folder_of else language.folder, page),
        )
        for language in languages
    ]
