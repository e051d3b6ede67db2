"""The ordered search path of one site: site overrides, custom, the theme chain, base.

One object answers every "which file wins?" question (templates, static files, message
catalogues), the way MkDocs' `Theme.dirs` does, so the precedence rule lives in one place
and tests can assert the path itself.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Literal

from jinja2 import BaseLoader, ChoiceLoader, FileSystemLoader, PrefixLoader

from pwreset.builder.errors import BuildError
from pwreset.builder.themes import STOCK_THEMES, Theme, resolve_chain
from pwreset.config.schema import Config

# Base page templates every theme builds on; the folder holds Jinja files directly.
BASE_TEMPLATES = Path(str(files("pwreset.templates")))

# `{% extends "theme:change.html" %}` reaches past the override layers to the file they shadow.
THEME_PREFIX = "theme"

LayerKind = Literal["site", "custom", "theme", "base"]
# The three kinds of file the search path resolves.
AssetKind = Literal["templates", "static", "messages"]


@dataclass(frozen=True)
class Layer:
    """One folder of the search path; `static` and `messages` are None where a layer has none."""

    kind: LayerKind
    name: str
    root: Path
    templates: Path
    static: Path | None
    messages: Path | None
    # Shipped with pwreset (a stock theme or the base templates): replaced by an upgrade,
    # never edited by users. Files in other layers that shadow these are "overrides".
    stock: bool = False

    @classmethod
    def folder(cls, kind: LayerKind, name: str, root: Path, *, stock: bool = False) -> Layer:
        """A layer laid out as `templates/`, `static/` and `messages/` under `root`."""
        return cls(kind, name, root, root / "templates", root / "static", root / "messages", stock)

    def folder_of(self, what: AssetKind) -> Path | None:
        return {"templates": self.templates, "static": self.static, "messages": self.messages}[what]

    def __str__(self) -> str:
        return f"{self.kind} {self.name!r}: {self.root}"


@dataclass(frozen=True)
class Layers:
    """The search path of site `site`, highest precedence first (first hit wins)."""

    site: str
    themes: tuple[Theme, ...]
    layers: tuple[Layer, ...]

    @classmethod
    def for_site(
        cls,
        config: Config,
        vdir: str,
        *,
        stock_themes: Path = STOCK_THEMES,
        base_templates: Path = BASE_TEMPLATES,
    ) -> Layers:
        """The path of one configured site; an unknown theme or a cycle is a BuildError."""
        site = config.sites[vdir]
        search = [config.path(Path("themes")), stock_themes]
        try:
            chain = resolve_chain(site.theme, search)
        except BuildError as exc:
            raise exc.for_site(vdir) from None
        layers = (
            Layer.folder("site", vdir, config.path(Path("sites")) / vdir),
            Layer.folder("custom", "custom", config.path(Path("custom"))),
            *(
                Layer.folder(
                    "theme", theme.name, theme.root, stock=_is_under(theme.root, stock_themes)
                )
                for theme in chain
            ),
            Layer("base", "base", base_templates, base_templates, None, None, stock=True),
        )
        return cls(vdir, chain, layers)

    @property
    def theme(self) -> Theme:
        """The theme the site selected (the nearest of the chain)."""
        return self.themes[0]

    def theme_layers(self) -> tuple[Layer, ...]:
        """The theme chain and base: what an override's `theme:` prefix resolves against."""
        return tuple(layer for layer in self.layers if layer.kind in ("theme", "base"))

    def template_dirs(self, *, theme_only: bool = False) -> list[Path]:
        layers = self.theme_layers() if theme_only else self.layers
        return [layer.templates for layer in layers if layer.templates.is_dir()]

    def static_dirs(self) -> list[Path]:
        return [d for d in (layer.static for layer in self.layers) if d and d.is_dir()]

    def message_dirs(self) -> list[Path]:
        return [d for d in (layer.messages for layer in self.layers) if d and d.is_dir()]

    def loader(self) -> BaseLoader:
        """Jinja's stock loaders over the path. Plain names search every layer; prefixes
        reach past the layers above, so a file can extend the one it shadows:

        - `theme:NAME` the theme chain and base (what an override in sites/ or custom/ hides)
        - `<theme>:NAME` that one theme of the chain (a theme extending its parent's page)
        - `base:NAME` the base templates alone
        """
        prefixes: dict[str, BaseLoader] = {
            THEME_PREFIX: FileSystemLoader(self.template_dirs(theme_only=True)),
        }
        for layer in self.layers:
            if layer.kind == "base" or (layer.kind == "theme" and layer.name not in prefixes):
                prefixes.setdefault(layer.name, FileSystemLoader([layer.templates]))
        return ChoiceLoader(
            [FileSystemLoader(self.template_dirs()), PrefixLoader(prefixes, delimiter=":")]
        )

    def static_files(self) -> dict[str, Path]:
        """Every static file by its path relative to `static/`, the highest layer's copy.

        Lower layers are visited first and higher ones overwrite them, the order a copy into
        the output folder would take.
        """
        found: dict[str, Path] = {}
        for folder in reversed(self.static_dirs()):
            for name in files_under(folder):
                found[name] = folder / name
        return found

    def candidates(self, what: AssetKind, name: str) -> list[tuple[Layer, Path, bool]]:
        """For `--explain` and the upgrade record: every layer's path for file `name`
        (relative to its `templates/`, `static/` or `messages/` folder), highest first,
        and whether the file is there. The first present one is the file that wins."""
        rows: list[tuple[Layer, Path, bool]] = []
        for layer in self.layers:
            folder = layer.folder_of(what)
            if folder is not None:
                path = folder / name
                rows.append((layer, path, path.is_file()))
        return rows

    def static_copies(self, name: str) -> list[Path]:
        """Every layer's copy of static file `name`, lowest layer first (for bundles that
        append rather than replace, such as `extra.css`)."""
        return [d / name for d in reversed(self.static_dirs()) if (d / name).is_file()]

    def describe(self) -> list[str]:
        """The path as text, highest first, for `--explain` style output and error hints."""
        return [str(layer) for layer in self.layers]


def files_under(folder: Path) -> tuple[str, ...]:
    """The files below `folder` as sorted relative POSIX paths, without dot files (.gitkeep,
    .DS_Store, editor swap files are never part of a site)."""
    return tuple(_walk(folder, ""))


def _walk(folder: Path, prefix: str) -> Iterator[str]:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            yield from _walk(Path(entry.path), f"{prefix}{entry.name}/")
        elif entry.is_file():
            yield prefix + entry.name


def _is_under(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True
