"""The static-site builder: themes and overrides -> `site/<vdir>/` for each virtual directory.

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
