"""The static-site builder: themes and overrides -> `site/<vdir>/` for each virtual directory.

A build, module by module: `build` (which sites, which are up to date) -> `layers` (each
site's search path, found once per build) -> `render` (the site in memory) -> `output`
(swapped in atomically). Asked for a value on the way: `themes` (theme.toml and the chain),
`links` (no symlink out of a layer), `pages` (pages, languages, links between them),
`templates` (the Jinja environment), `messages`, `assets` (with `page_script`, the bundled
page script), `stamps` (what changed), `overrides` (the upgrade record) and `errors`;
`gallery` in gallery builds only. The designer's tools: `watch` (rebuild on change) and
`preview` (serve with live reload).

Public API: `run_build` (with `BuildOptions`; `build_sites` when only the sites matter),
`BuiltSite`, `BuildError`, `Layers` (a site's search path), and the upgrade check
`upgrade_changes` / `accept_upgrade`.
"""

from pwreset.builder.build import (
    BuildOptions,
    BuildResult,
    BuiltSite,
    accept_upgrade,
    build_sites,
    run_build,
    upgrade_changes,
)
from pwreset.builder.errors import BuildError
from pwreset.builder.layers import Layer, Layers

__all__ = [
    "BuildError",
    "BuildOptions",
    "BuildResult",
    "BuiltSite",
    "Layer",
    "Layers",
    "accept_upgrade",
    "build_sites",
    "run_build",
    "upgrade_changes",
]
