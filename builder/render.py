"""Everything one site consists of, rendered in memory: nothing touches the output folder
until every page of every selected site has rendered.

A site is built once per language: the main language's pages at the site root (so links
that name no language keep working), every other language's in a folder named after it
(`de/change.html`), all sharing one `assets/` folder.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pwreset.builder.context import folder_prefix, language_links, page_path
from pwreset.builder.errors import BuildError
from pwreset.builder.gallery import render_gallery
from pwreset.builder.languages import Language
from pwreset.builder.layers import Layers
from pwreset.builder.render_plan import PREVIEW_SCRIPT, BuildOptions, SitePlan, plan_site
from pwreset.config.schema import Config


@dataclass(frozen=True)
class RenderedSite:
    """A site's output files (path relative to the site folder -> bytes), not yet written."""

    vdir: str
    layers: Layers
    pages: tuple[str, ...]
    files: Mapping[str, bytes]


def render_site(config: Config, vdir: str, options: BuildOptions | None = None) -> RenderedSite:
    """Render site `vdir`; every failure is a BuildError naming the site."""
    try:
        return _render(config, vdir, options or BuildOptions())
    except BuildError as exc:
        raise exc.for_site(vdir) from None


def _render(config: Config, vdir: str, options: BuildOptions) -> RenderedSite:
    plan = plan_site(config, vdir, options)
    files: dict[str, bytes] = dict(plan.assets.files)
    hook = _script_hook(plan, PREVIEW_SCRIPT) if options.preview else None

    def decorate(html: str, folder: str) -> str:
        """Add the preview's reload hook before `</head>` (preview builds only), whatever
        the templates look like, so no production page can carry it by accident."""
        if hook is None:
            return html
        return html.replace("</head>", hook(folder_prefix(folder)) + "</head>", 1)

    outputs: list[str] = []
    for language in plan.languages:
        for page in plan.pages:
            links = language_links(page, plan.languages, language.folder, _folder)
            html = plan.render(
                page, language, folder=language.folder, languages=links, alternates=links
            )
            output = page_path(language.folder, page)
            files[output] = decorate(html, language.folder).encode("utf-8")
            outputs.append(output)
    if options.gallery:
        files.update(render_gallery(plan, decorate))
    return RenderedSite(vdir, plan.layers, tuple(outputs), files)


def _folder(language: Language) -> str:
    return language.folder


def _script_hook(plan: SitePlan, name: str) -> Callable[[str], str]:
    url = plan.assets.url(name)
    return lambda root: f'<script src="{root}{url}" defer></script>\n'
