"""The state gallery: `gallery/` in a site built with `--gallery` (and by `pwreset preview`).

Every page is built again under `gallery/<lang>/`, with the gallery player script and the
page's states, and `gallery/index.html` links each page in each state in each language
(`gallery/en/reset.html?state=RES_WRONG_ANSWER`). Nothing there talks to a server: the player
answers the page's requests with the made-up replies of `gallery_states`.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from pwreset.builder.gallery_states import State, page_states
from pwreset.builder.pages import Language, Page, folder_prefix, language_links, page_path
from pwreset.builder.render import GALLERY_SCRIPT, GALLERY_STYLESHEET, SitePlan

FOLDER = "gallery"
TEMPLATE = "gallery.html"


@dataclass(frozen=True)
class GalleryLink:
    tag: str
    href: str


@dataclass(frozen=True)
class GalleryEntry:
    """One state of one page, linked in every language."""

    name: str
    title: str
    links: tuple[GalleryLink, ...]


@dataclass(frozen=True)
class GallerySection:
    page: Page
    entries: tuple[GalleryEntry, ...]


def gallery_folder(language: Language) -> str:
    return f"{FOLDER}/{language.tag}"


def states_of(plan: SitePlan, page: Page) -> list[State]:
    return page_states(page.name, plan.site.domains, plan.site.flows, plan.site.questions)


def render_gallery(plan: SitePlan, decorate: Callable[[str, str], str]) -> dict[str, bytes]:
    """The gallery's files; `decorate(html, folder)` adds what every page of this build
    gets (the preview's reload hook)."""
    files: dict[str, bytes] = {}
    sections: list[GallerySection] = []
    for page in plan.pages:
        states = states_of(plan, page)
        script = json.dumps({s.name: s.script() for s in states}, separators=(",", ":"))
        for language in plan.languages:
            folder = gallery_folder(language)
            links = language_links(page, plan.languages, folder, gallery_folder)
            page_html = plan.render(page, language, folder=folder, languages=links, alternates=[])
            player = (
                f'<meta name="pwreset-gallery" content="{html.escape(script)}">\n'
                f'<script src="../../{plan.assets.url(GALLERY_SCRIPT)}"></script>\n'
            )
            page_html = page_html.replace("</head>", player + "</head>", 1)
            files[page_path(folder, page)] = decorate(page_html, folder).encode("utf-8")
        sections.append(GallerySection(page, tuple(_entry(plan, page, s) for s in states)))
    main = plan.languages[0]
    index = Page("gallery", None)
    index_html = plan.render(
        index,
        main,
        folder=FOLDER,
        languages=[],
        alternates=[],
        template=TEMPLATE,
        extra={"gallery": sections},
    )
    # The index's own rules, after the site's stylesheet: production sites never carry them.
    stylesheet = folder_prefix(FOLDER) + plan.assets.url(GALLERY_STYLESHEET)
    style = f'<link rel="stylesheet" href="{stylesheet}">\n'
    index_html = index_html.replace("</head>", style + "</head>", 1)
    files[f"{FOLDER}/index.html"] = decorate(index_html, FOLDER).encode("utf-8")
    return files


def _entry(plan: SitePlan, page: Page, state: State) -> GalleryEntry:
    query = urlencode(state.query if state.query is not None else {"state": state.name})
    links = tuple(
        GalleryLink(language.tag, f"{language.tag}/{page.output}?{query}")
        for language in plan.languages
    )
    return GalleryEntry(state.name, state.title, links)
