"""Rendering one site in memory: its plan (pages, languages, theme options, assets and
catalogues, all read from its layers) and every page rendered from it. Nothing touches the
output folder until every page of every selected site has rendered.

A site is rendered once per language (see `pages` for where each language's pages live),
all languages sharing one `assets/` folder.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment

from pwreset.builder.assets import Assets, build_assets
from pwreset.builder.errors import BuildError
from pwreset.builder.layers import Layers
from pwreset.builder.messages import Catalog, load_catalog
from pwreset.builder.pages import (
    Language,
    LanguageLink,
    Page,
    folder_prefix,
    language_links,
    page_path,
    site_languages,
    site_pages,
)
from pwreset.builder.templates import environment_for, has_template, render_template
from pwreset.builder.themes import option_values, with_site_options
from pwreset.config.factor_settings import KINDS
from pwreset.config.schema import Config
from pwreset.protocol.limits import PAGE_FIELDS

# Scripts of the builder itself, never part of a production build.
TOOLS = Path(str(resources.files("pwreset.builder"))) / "tools"
PREVIEW_SCRIPT = "pwreset-preview.js"
GALLERY_SCRIPT = "pwreset-gallery.js"
GALLERY_STYLESHEET = "pwreset-gallery.css"


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
    # Whether the site uses security questions at all ([factors] questions), and the kinds
    # of factor its choose step may list.
    questions: bool = True
    factors: tuple[str, ...] = KINDS


@dataclass(frozen=True)
class ThemeView:
    name: str
    options: Mapping[str, str]


@dataclass(frozen=True)
class SitePlan:
    """What is known about a site before its pages render: shared by pages and gallery."""

    vdir: str
    layers: Layers
    site: SiteView
    theme: ThemeView
    api_base: str
    pages: tuple[Page, ...]
    languages: tuple[Language, ...]
    assets: Assets
    catalogs: Mapping[str, Catalog] = field(default_factory=dict)

    @property
    def menu(self) -> list[Page]:
        return [page for page in self.pages if page.flow is not None]

    def render(
        self,
        page: Page,
        language: Language,
        *,
        folder: str,
        languages: list[LanguageLink],
        alternates: list[LanguageLink],
        template: str | None = None,
        extra: Mapping[str, Any] | None = None,
        environment: Environment | None = None,
    ) -> str:
        """Page `page` in `language`, as it lives in `folder` (relative to the site root).
        `environment` stands in for the site's own (the benchmark's bare Jinja2 render)."""
        root = folder_prefix(folder)
        catalog = self.catalogs[language.tag]
        # The variables of a page's template (documented in docs/themes.md).
        context = {
            "site": self.site,
            "theme": self.theme,
            "api_base": self.api_base,
            "menu": self.menu,
            # The most characters each field may hold, for `maxlength` (the relay's limits).
            "limits": PAGE_FIELDS,
            "msg": catalog.text,
            "client_messages": catalog.client_messages,
            "asset": lambda name: root + self.assets.url(name),
            "page": page,
            "lang": language,
            "languages": languages,
            # Only real pages list their other-language versions as <link rel="alternate">;
            # the script reads those to choose a language, which gallery pages must not do.
            "alternates": alternates,
            **(extra or {}),
        }
        env = environment or environment_for(self.layers)
        return render_template(env, template or page.template, context)


@dataclass(frozen=True)
class RenderedSite:
    """A site's output files (path relative to the site folder -> bytes), not yet written."""

    vdir: str
    layers: Layers
    pages: tuple[str, ...]
    files: Mapping[str, bytes]


def plan_site(
    config: Config, layers: Layers, *, preview: bool = False, gallery: bool = False
) -> SitePlan:
    """Read what site `layers.site` is made of from its layers. `preview` and `gallery` add
    the builder's own scripts (the reload hook, the gallery player) to the assets."""
    vdir = layers.site
    site = config.sites[vdir]
    theme_options = with_site_options(option_values(layers.themes), site.options, vdir)
    tools: dict[str, Path] = {}
    if preview:
        tools[PREVIEW_SCRIPT] = TOOLS / PREVIEW_SCRIPT
    if gallery:
        tools[GALLERY_SCRIPT] = TOOLS / GALLERY_SCRIPT
        tools[GALLERY_STYLESHEET] = TOOLS / GALLERY_STYLESHEET
    pages = site_pages(vdir, site.flows, partial(has_template, environment_for(layers)))
    flows = tuple(page.flow for page in pages if page.flow is not None)
    languages = site_languages(site.language, site.languages)
    message_dirs = layers.message_dirs()
    return SitePlan(
        vdir=vdir,
        layers=layers,
        site=_site_view(config, vdir, flows),
        theme=ThemeView(layers.theme.name, {k: o.default for k, o in theme_options.items()}),
        # Where the pages send requests: the site's `api_base`, else the same origin.
        api_base=site.api_base.rstrip("/") or f"/{vdir}/api/v1",
        pages=pages,
        languages=languages,
        assets=build_assets(layers, theme_options, tools),
        catalogs={lang.tag: load_catalog(message_dirs, lang.tag) for lang in languages},
    )


def _site_view(config: Config, vdir: str, flows: tuple[str, ...]) -> SiteView:
    site = config.sites[vdir]
    questions = config.factors is None or config.factors.questions_on(vdir)
    kinds = tuple(kind for kind in KINDS if questions or kind != "questions")
    return SiteView(vdir, site.title, site.language, tuple(site.domains), flows, questions, kinds)


def render_site(
    config: Config, layers: Layers, *, preview: bool = False, gallery: bool = False
) -> RenderedSite:
    """Render the site of `layers`; every failure is a BuildError naming the site."""
    try:
        plan = plan_site(config, layers, preview=preview, gallery=gallery)
        return _render(plan, preview=preview, gallery=gallery)
    except BuildError as exc:
        raise exc.for_site(layers.site) from None


def _render(plan: SitePlan, *, preview: bool, gallery: bool) -> RenderedSite:
    files: dict[str, bytes] = dict(plan.assets.files)
    hook = plan.assets.url(PREVIEW_SCRIPT) if preview else None

    def decorate(html: str, folder: str) -> str:
        """Add the preview's reload hook before `</head>` (preview builds only), whatever
        the templates look like, so no production page can carry it by accident."""
        if hook is None:
            return html
        script = f'<script src="{folder_prefix(folder)}{hook}" defer></script>\n'
        return html.replace("</head>", script + "</head>", 1)

    outputs: list[str] = []
    for language in plan.languages:
        for page in plan.pages:
            links = language_links(page, plan.languages, language.folder)
            html = plan.render(
                page, language, folder=language.folder, languages=links, alternates=links
            )
            output = page_path(language.folder, page)
            files[output] = decorate(html, language.folder).encode("utf-8")
            outputs.append(output)
    if gallery:
        # Imported here: the gallery renders from a SitePlan, so it imports this module.
        from pwreset.builder.gallery import render_gallery

        files.update(render_gallery(plan, decorate))
    return RenderedSite(plan.vdir, plan.layers, tuple(outputs), files)
