"""The static-site builder: themes and overrides -> `site/<vdir>/` for each virtual directory.

Public API: `build_sites` (with `BuildOptions`), `BuiltSite`, `BuildError`, `Layers` (a
site's search path), and the upgrade check `upgrade_changes` / `accept_upgrade`.
"""

from pwreset.builder.build import BuiltSite, accept_upgrade, build_sites, upgrade_changes
from pwreset.builder.errors import BuildError
from pwreset.builder.layers import Layer, Layers
from pwreset.builder.render_plan import BuildOptions

__all__ = [
    "BuildError",
    "BuildOptions",
    "BuiltSite",
    "Layer",
    "Layers",
    "accept_upgrade",
    "build_sites",
    "upgrade_changes",
]
