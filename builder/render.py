"""Everything one site consists of, rendered in memory: nothing touches the output folder
until every page of every selected site has rendered."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from pwreset.builder.assets import build_assets
from pwreset.builder.environment import has_template, make_environment, render_template
from pwreset.builder.errors import BuildError
from pwreset.builder.layers import Layers
from pwreset.builder.messages import load_catalog
from pwreset.builder.pages import Page, site_pages
from pwreset.builder.themes import option_values
from pwreset.config.schema import Config


@dataclass(frozen=True)
class SiteView:
    """What templates see of the site's configuration (never server or key settings)."""

    vdir: str
    title: str
    language: str
    domains: tuple[str, ...]
    flows: tuple[str, ...]


@dataclass(frozen=True)
class ThemeView:
    name: str
    options: Mapping[str, str]


@dataclass(frozen=True)
class RenderedSite:
    """A site's output files (path relative to the site folder -> bytes), not yet written."""

    vdir: str
    layers: Layers
    pages: tuple[Page, ...]
    files: Mapping[str, bytes]


def api_base(config: Config, vdir: str) -> str:
    """Where the pages send requests: the site's `api_base`, else the same origin."""
    return config.sites[vdir].api_base.rstrip("/") or f"/{vdir}/api/v1"


def render_site(config: Config, vdir: str) -> RenderedSite:
    """Render site `vdir`; every failure is a BuildError naming the site."""
    try:
        return _render(config, vdir)
    except BuildError as exc:
        raise exc.for_site(vdir) from None


def _render(config: Config, vdir: str) -> RenderedSite:
    site = config.sites[vdir]
    layers = Layers.for_site(config, vdir)
    options = option_values(layers.themes)
    catalog = load_catalog(layers.message_dirs(), site.language)
    assets = build_assets(layers, options)
    env = make_environment(layers)
    pages = site_pages(vdir, site.flows, partial(has_template, env))
    context: dict[str, Any] = {
        "site": SiteView(vdir, site.title, site.language, tuple(site.domains), tuple(site.flows)),
        "theme": ThemeView(layers.theme.name, {k: o.default for k, o in options.items()}),
        "api_base": api_base(config, vdir),
        "menu": [page for page in pages if page.flow is not None],
        "msg": catalog.text,
        "client_messages": catalog.client_messages(),
        "asset": assets.url,
    }
    files = dict(assets.files)
    for page in pages:
        html = render_template(env, page.template, {**context, "page": page})
        files[page.output] = html.encode("utf-8")
    return RenderedSite(vdir, layers, pages, files)
