"""`pwreset build`: render the selected sites in memory, then write each one atomically."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pwreset.builder.errors import BuildError
from pwreset.builder.layers import Layers
from pwreset.builder.output import write_site
from pwreset.builder.render import render_site
from pwreset.config.schema import Config


@dataclass(frozen=True)
class BuiltSite:
    """One site as written: its folder, pages and assets (paths relative to the folder)."""

    vdir: str
    path: Path
    pages: tuple[str, ...]
    assets: tuple[str, ...]
    layers: Layers


def build_sites(config: Config, *, only: Sequence[str] | None = None) -> list[BuiltSite]:
    """Build every configured site, or those named in `only`, into `<output>/<vdir>/`.

    All selected sites render before anything is written, so a template mistake in one
    site leaves every previous output untouched.
    """
    vdirs = _select(config, only)
    rendered = [render_site(config, vdir) for vdir in vdirs]
    output = config.path(config.build.output)
    built: list[BuiltSite] = []
    for site in rendered:
        path = write_site(output, site.vdir, site.files)
        pages = tuple(page.output for page in site.pages)
        assets = tuple(sorted(name for name in site.files if name not in pages))
        built.append(BuiltSite(site.vdir, path, pages, assets, site.layers))
    return built


def _select(config: Config, only: Sequence[str] | None) -> list[str]:
    if only is None:
        return list(config.sites)
    for name in only:
        if name not in config.sites:
            close = difflib.get_close_matches(name, list(config.sites), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            known = ", ".join(sorted(config.sites))
            raise BuildError(
                "unknown_site",
                f"no site is configured under that name{hint} (sites: {known})",
                site=name,
            )
    return list(dict.fromkeys(only))
