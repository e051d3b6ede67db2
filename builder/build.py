"""`pwreset build`: render the selected sites in memory, then write each one atomically.

Each site's layers are found once per build and drive everything else: whether the site is
up to date, its rendering, and the upgrade record of the stock files its overrides shadow
(see `overrides`).

A site whose inputs (its configuration, every file of its search path, the build options and
the builder itself) are as they were at its last build, and whose output is still in place,
is not rendered again. Inputs are compared by file listing, mtime and size, as `make` and
MkDocs' dirty builds do, with git's guard against racy stamps (see `stamps`).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pwreset import __version__
from pwreset.builder import overrides
from pwreset.builder.errors import BuildError
from pwreset.builder.layers import BASE_TEMPLATES, Layers
from pwreset.builder.output import refuse_links, replace_file, write_site
from pwreset.builder.render import RenderedSite, render_site
from pwreset.builder.stamps import RACY_NS, Scanner, listing
from pwreset.builder.themes import STOCK_THEMES
from pwreset.config.schema import Config

STATE = Path(".pwreset") / "cache" / "build-state.json"
_BUILDER = Path(__file__).parent


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

    def layers(self, config: Config, vdir: str) -> Layers:
        return Layers.for_site(
            config, vdir, stock_themes=self.stock_themes, base_templates=self.base_templates
        )


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


@dataclass(frozen=True)
class BuildResult:
    """What one build did: the selected sites, and the overrides (of every configured site)
    whose stock original changed since it was recorded."""

    sites: list[BuiltSite]
    upgrades: list[overrides.Change]


def run_build(
    config: Config,
    *,
    only: Sequence[str] | None = None,
    options: BuildOptions | None = None,
    force: bool = False,
) -> BuildResult:
    """Build every configured site, or those named in `only`, into `<output>/<vdir>/`.

    All selected sites render before anything is written, so a template mistake in one
    site leaves every previous output untouched. `force` rebuilds sites that are up to date.
    """
    options = options or BuildOptions()
    vdirs = _select(config, only)
    output = config.path(config.build.output)
    refuse_links(output, vdirs)
    # Every configured site's, also those `only` leaves out: the upgrade record covers them.
    layers = {vdir: options.layers(config, vdir) for vdir in config.sites}
    state = BuildState(config.base_dir)
    scanner = Scanner()
    prints = {v: fingerprint(config, layers[v], options, scanner) for v in vdirs}
    stale = [v for v in vdirs if force or not state.up_to_date(v, prints[v], output / v)]
    rendered = {
        v: render_site(config, layers[v], preview=options.preview, gallery=options.gallery)
        for v in stale
    }
    built = [_write(output, rendered[v], prints[v], state) if v in rendered else
             _kept(output, layers[v], state) for v in vdirs]  # fmt: skip
    if rendered:
        state.save()
    shadows = overrides.shadows_of(layers.values(), config.base_dir)
    overrides.record(config.base_dir, shadows)
    return BuildResult(built, overrides.changes(config.base_dir, shadows))


def build_sites(
    config: Config,
    *,
    only: Sequence[str] | None = None,
    options: BuildOptions | None = None,
    force: bool = False,
) -> list[BuiltSite]:
    """`run_build`, for callers that want only the sites (`--watch`, the demo)."""
    return run_build(config, only=only, options=options, force=force).sites


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
    sites = [options.layers(config, vdir) for vdir in config.sites]
    return overrides.shadows_of(sites, config.base_dir)


@dataclass(frozen=True)
class Fingerprint:
    digest: str
    newest_ns: int  # the newest input mtime (the racy-stamp guard needs it)


def fingerprint(
    config: Config, layers: Layers, options: BuildOptions, scanner: Scanner
) -> Fingerprint:
    """The digest of everything site `layers.site` is built from."""
    h = hashlib.sha256()
    newest = 0
    h.update(__version__.encode())
    h.update(config.sites[layers.site].model_dump_json().encode())
    h.update(repr((options, str(config.path(config.build.output)))).encode())
    # Whole layer folders: a link that stays inside its layer may point anywhere in it.
    for folder in [_BUILDER, *(layer.root for layer in layers.layers)]:
        h.update(f"\0{folder}\0".encode())
        for name, mtime, size in scanner.listing(folder):
            h.update(f"{name}:{mtime}:{size}\n".encode())
            newest = max(newest, mtime)
    return Fingerprint(h.hexdigest(), newest)


class BuildState:
    """What the last build of each site was made from, and what it wrote."""

    def __init__(self, instance: Path) -> None:
        self.path = instance / STATE
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            self.sites: dict[str, Any] = data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            self.sites = {}

    def up_to_date(self, vdir: str, now: Fingerprint, target: Path) -> bool:
        entry = self.sites.get(vdir)
        if not entry or entry.get("fingerprint") != now.digest:
            return False
        if now.newest_ns >= int(entry.get("built_ns", 0)) - RACY_NS:
            return False
        # The output must be exactly what was written: nothing missing, changed or added.
        written = {name: size for name, _, size in listing(target)}
        return bool(written == entry.get("files"))

    def pages(self, vdir: str) -> tuple[str, ...]:
        return tuple(self.sites.get(vdir, {}).get("pages", ()))

    def remember(
        self, vdir: str, now: Fingerprint, files: dict[str, bytes], pages: Iterable[str]
    ) -> None:
        self.sites[vdir] = {
            "fingerprint": now.digest,
            "built_ns": time.time_ns(),
            "files": {name: len(data) for name, data in files.items()},
            "pages": list(pages),
        }

    def save(self) -> None:
        replace_file(self.path, json.dumps(self.sites, indent=1, sort_keys=True).encode())


def _write(output: Path, site: RenderedSite, now: Fingerprint, state: BuildState) -> BuiltSite:
    path = write_site(output, site.vdir, site.files)
    state.remember(site.vdir, now, dict(site.files), site.pages)
    assets = tuple(sorted(name for name in site.files if name not in site.pages))
    return BuiltSite(site.vdir, path, site.pages, assets, site.layers)


def _kept(output: Path, layers: Layers, state: BuildState) -> BuiltSite:
    vdir = layers.site
    pages = state.pages(vdir)
    assets = tuple(sorted(name for name in state.sites[vdir]["files"] if name not in pages))
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
