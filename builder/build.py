"""`pwreset build`: render the selected sites in memory, then write each one atomically.

Sites whose inputs did not change since their last build are left as they are (see
`incremental`); every build records which stock files the instance's overrides shadow
(see `overrides`), so an upgrade that changes one of them can be reported.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pwreset.builder import overrides
from pwreset.builder.errors import BuildError
from pwreset.builder.incremental import BuildState, Fingerprint, Scanner, fingerprint
from pwreset.builder.layers import Layers
from pwreset.builder.output import refuse_links, write_site
from pwreset.builder.render import RenderedSite, render_site
from pwreset.builder.render_plan import BuildOptions
from pwreset.config.schema import Config


@dataclass(frozen=True)
class BuiltSite:
    """One site as written: its folder, pages and assets (paths relative to the folder).

    `rebuilt` is False when the site was up to date and left untouched.
    """

    vdir: str
    path: Path
    pages: tuple[str, ...]
    assets: tuple[str, ...]
    layers: Layers
    rebuilt: bool = True


def build_sites(
    config: Config,
    *,
    only: Sequence[str] | None = None,
    options: BuildOptions | None = None,
    force: bool = False,
) -> list[BuiltSite]:
    """Build every configured site, or those named in `only`, into `<output>/<vdir>/`.

    All selected sites render before anything is written, so a template mistake in one
    site leaves every previous output untouched. `force` rebuilds sites that are up to date.
    """
    options = options or BuildOptions()
    vdirs = _select(config, only)
    output = config.path(config.build.output)
    refuse_links(output, vdirs)
    state = BuildState(config.base_dir)
    scanner = Scanner()
    layers = {vdir: _layers(config, vdir, options) for vdir in vdirs}
    prints = {v: fingerprint(config, v, layers[v], options, scanner) for v in vdirs}
    stale = [v for v in vdirs if force or not state.up_to_date(v, prints[v], output / v)]
    rendered = {vdir: render_site(config, vdir, options) for vdir in stale}
    built = [_write(output, rendered[v], prints[v], state) if v in rendered else
             _kept(output, v, layers[v], state) for v in vdirs]  # fmt: skip
    if rendered:
        state.save()
    overrides.record(config.base_dir, overrides.shadows_of(layers.values(), config.base_dir))
    return built


def upgrade_changes(config: Config, options: BuildOptions | None = None) -> list[overrides.Change]:
    """Overrides whose stock original changed since the build recorded it (for every site)."""
    return overrides.changes(config.base_dir, _all_shadows(config, options or BuildOptions()))


def accept_upgrade(
    config: Config, only: Sequence[str] = (), options: BuildOptions | None = None
) -> list[str]:
    """Record the current stock originals as merged (all overrides, or those in `only`)."""
    shadows = _all_shadows(config, options or BuildOptions())
    return overrides.accept(config.base_dir, shadows, only)


def _all_shadows(config: Config, options: BuildOptions) -> dict[str, overrides.Shadow]:
    sites = [_layers(config, vdir, options) for vdir in config.sites]
    return overrides.shadows_of(sites, config.base_dir)


def _layers(config: Config, vdir: str, options: BuildOptions) -> Layers:
    try:
        return Layers.for_site(
            config, vdir, stock_themes=options.stock_themes, base_templates=options.base_templates
        )
    except BuildError as exc:
        raise exc.for_site(vdir) from None


def _write(output: Path, site: RenderedSite, now: Fingerprint, state: BuildState) -> BuiltSite:
    path = write_site(output, site.vdir, site.files)
    state.remember(site.vdir, now, dict(site.files), site.pages)
    assets = tuple(sorted(name for name in site.files if name not in site.pages))
    return BuiltSite(site.vdir, path, site.pages, assets, site.layers)


def _kept(output: Path, vdir: str, layers: Layers, state: BuildState) -> BuiltSite:
    pages = state.pages(vdir)
    files = state.sites[vdir]["files"]
    assets = tuple(sorted(name for name in files if name not in pages))
    return BuiltSite(vdir, output / vdir, pages, assets, layers, rebuilt=False)


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
