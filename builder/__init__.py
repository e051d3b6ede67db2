"""The static-site builder: themes and overrides -> `site/<vdir>/` for each virtual directory.

Public API: `build_sites`, `BuiltSite`, `BuildError`, and `Layers` (a site's search path).
"""

from pwreset.builder.build import BuiltSite, build_sites
from pwreset.builder.errors import BuildError
from pwreset.builder.layers import Layer, Layers

__all__ = ["BuildError", "BuiltSite", "Layer", "Layers", "build_sites"]
