"""What is known about a site before its pages render: its search path, theme options,
languages, pages, catalogues and assets. Pages and the gallery both render from it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from importlib.resources import files
from pathlib import Path
from typing import Any

from pwreset.builder.assets import Assets, build_assets
from pwreset.builder.context import (
    LanguageLink,
    SiteView,
    ThemeView,
    folder_prefix,
    page_context,
)
from pwreset.builder.environment import environment_for, has_template, render_template
from pwreset.builder.languages import Language, site_languages
from pwreset.builder.layers import BASE_TEMPLATES, Layers
from pwreset.builder.messages import Catalog, load_catalog
from pwreset.builder.pages import Page, site_pages
from pwreset.builder.themes import STOCK_THEMES, option_values, with_site_options
from pwreset.config.schema import Config

# Scripts of the builder itself, never part of a production build.
TOOLS = Path(str(files("pwreset.builder"))) / "tools"
PREVIEW_SCRIPT = "pwreset-preview.js"
GALLERY_SCRIPT = "pwreset-gallery.js"
GALLERY_STYLESHEET = "pwreset-gallery.css"


@dataclass(frozen=True)
class BuildOptions:
    """How to build: production (the default), or for a designer's preview.

    `preview` adds the live-reload hook to every page; `gallery` adds `gallery/`, every page
    in every state. `stock_themes` and `base_templates` stand in for the installed ones
    (tests simulate an upgrade with them).
    """

    preview: bool = False
    gallery: bool = False
    stock_themes: Path = STOCK_THEMES
    base_templates: Path = BASE_TEMPLATES


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
    ) -> str:
        context = page_context(
            site=self.site,
            theme=self.theme,
            api_base=self.api_base,
            menu=self.menu,
            catalog=self.catalogs[language.tag],
            asset_url=self.assets.url,
            page=page,
            language=language,
            languages=languages,
            alternates=alternates,
            root=folder_prefix(folder),
        )
        if extra:
            context.update(extra)
        env = environment_for(self.layers)
        return render_template(env, template or page.template, context)


def api_base(config: Config, vdir: str) -> str:
    """Where the pages send requests: the site's `api_base`, else the same origin."""
    return config.sites[vdir].api_base.rstrip("/") or f"/{vdir}/api/v1"


def plan_site(config: Config, vdir: str, options: BuildOptions) -> SitePlan:
    site = config.sites[vdir]
    layers = Layers.for_site(
        config, vdir, stock_themes=options.stock_themes, base_templates=options.base_templates
    )
    theme_options = with_site_options(option_values(layers.themes), site.options, vdir)
    tools: dict[str, Path] = {}
    if options.preview:
        tools[PREVIEW_SCRIPT] = TOOLS / PREVIEW_SCRIPT
    if options.gallery:
        tools[GALLERY_SCRIPT] = TOOLS / GALLERY_SCRIPT
        tools[GALLERY_STYLESHEET] = TOOLS / GALLERY_STYLESHEET
    env = environment_for(layers)
    pages = site_pages(vdir, site.flows, partial(has_template, env))
    flows = tuple(page.flow for page in pages if page.flow is not None)
    languages = site_languages(site.language, site.languages)
    message_dirs = layers.message_dirs()
    return SitePlan(
        vdir=vdir,
        layers=layers,
        site=SiteView(vdir, site.title, site.language, tuple(site.domains), flows),
        theme=ThemeView(layers.theme.name, {k: o.default for k, o in theme_options.items()}),
        api_base=api_base(config, vdir),
        pages=pages,
        languages=languages,
        assets=build_assets(layers, theme_options, tools),
        catalogs={lang.tag: load_catalog(message_dirs, lang.tag) for lang in languages},
    )
