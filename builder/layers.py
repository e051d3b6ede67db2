"""The ordered search path of one site: site overrides, custom, the theme chain, base.

One object answers every "which file wins?" question (templates, static files, message
catalogues), the way MkDocs' `Theme.dirs` does, so the precedence rule lives in one place
and tests can assert the path itself. `Layers.explain` answers it for a designer
(`pwreset build --explain SITE NAME`), like Flask's template-loading explanation and
Datasette's "templates considered".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Literal

from jinja2 import BaseLoader, ChoiceLoader, Environment, FileSystemLoader, PrefixLoader

from pwreset.builder.errors import BuildError
from pwreset.builder.links import confined, walk
from pwreset.builder.messages import FORMATS, read_catalogue
from pwreset.builder.themes import STOCK_THEMES, Theme, resolve_chain
from pwreset.config.schema import Config

# Base page templates every theme builds on; the folder holds Jinja files directly.
BASE_TEMPLATES = Path(str(files("pwreset.templates")))

# `{% extends "theme:change.html" %}` reaches past the override layers to the file they shadow.
THEME_PREFIX = "theme"

LayerKind = Literal["site", "custom", "theme", "base"]
# The three kinds of file the search path resolves.
AssetKind = Literal["templates", "static", "messages"]

_MESSAGE_ID = re.compile(r"^[A-Z][A-Z0-9_]*$")
_EXTENDS = re.compile(r"""{%-?\s*extends\s+["']([^"']+)["']""")


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

    def check_links(self) -> None:
        """A BuildError for any symlink of the layer's templates, static files or
        catalogues that leads out of the layer (see `links`)."""
        for folder in (self.templates, self.static, self.messages):
            if folder is not None:
                files_under(folder, self.root)

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
        """The path of one configured site; an unknown theme, a cycle or a symlink out of a
        layer is a BuildError naming the site. Every build, `--explain` and upgrade check
        starts here, so no file is read through such a link."""
        try:
            return cls._for_site(config, vdir, stock_themes, base_templates)
        except BuildError as exc:
            raise exc.for_site(vdir) from None

    @classmethod
    def _for_site(
        cls, config: Config, vdir: str, stock_themes: Path, base_templates: Path
    ) -> Layers:
        chain = resolve_chain(config.sites[vdir].theme, [config.path(Path("themes")), stock_themes])
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
        for layer in layers:
            layer.check_links()
        return cls(vdir, chain, layers)

    @property
    def theme(self) -> Theme:
        """The theme the site selected (the nearest of the chain)."""
        return self.themes[0]

    def theme_layers(self) -> tuple[Layer, ...]:
        """The theme chain and base: what an override's `theme:` prefix resolves against."""
        return tuple(layer for layer in self.layers if layer.kind in ("theme", "base"))

    def template_dirs(self, *, theme_only: bool = False) -> list[Path]:
        return [layer.templates for layer in self._with_templates(theme_only=theme_only)]

    def _with_templates(self, *, theme_only: bool = False) -> list[Layer]:
        layers = self.theme_layers() if theme_only else self.layers
        return [layer for layer in layers if layer.templates.is_dir()]

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
            THEME_PREFIX: _choice(self._with_templates(theme_only=True)),
        }
        for layer in self.layers:
            if layer.kind == "base" or (layer.kind == "theme" and layer.name not in prefixes):
                prefixes.setdefault(layer.name, LayerLoader(layer))
        return ChoiceLoader(
            [_choice(self._with_templates()), PrefixLoader(prefixes, delimiter=":")]
        )

    def static_files(self) -> dict[str, Path]:
        """Every static file by its path relative to `static/`, the highest layer's copy.

        Lower layers are visited first and higher ones overwrite them, the order a copy into
        the output folder would take.
        """
        found: dict[str, Path] = {}
        for layer in reversed(self.layers):
            if layer.static is not None:
                for name in files_under(layer.static, layer.root):
                    found[name] = layer.static / name
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

    def explain(self, name: str, languages: Sequence[str]) -> tuple[str, bool]:
        """Every layer's file for `name` and which one wins, as text, and whether some layer
        has it. `name` is a template (`change.html`), a static file (`logo.svg`) or a
        message id (`RES_WRONG_ANSWER`, shown for each of `languages`)."""
        chain = " extends ".join(repr(theme.name) for theme in self.themes)
        what = _kind_of(name)
        lines = [f"site {self.site!r}, theme {chain}: {what} {name!r}", ""]
        if what == "messages":
            found = False
            for lang in languages:
                lines.append(f"[{lang}]")
                found |= self._message_rows(name, lang, lines)
            return "\n".join(lines), found
        winner: Path | None = None
        for number, (layer, path, present) in enumerate(self.candidates(what, name), start=1):
            if present and winner is None:
                # NAME may be a dot file, which the layer check does not walk.
                winner, status = confined(path, layer.root), "WINS"
            else:
                status = "shadowed" if present else "-"
            lines.append(f"  {number}. {status:<9}{layer.kind} {layer.name!r}: {path}")
        if winner is None:
            lines.append("  no layer has this file")
        elif what == "templates":
            match = _EXTENDS.search(winner.read_text(encoding="utf-8", errors="replace"))
            if match:
                lines.append(f"  the winner extends {match.group(1)!r}")
        return "\n".join(lines), winner is not None

    def _message_rows(self, message_id: str, lang: str, lines: list[str]) -> bool:
        won = False
        number = 0
        for layer in self.layers:
            if layer.messages is None:
                continue
            # Within one layer the later format wins (a .toml override over the .po).
            for ext in reversed(FORMATS):
                file = layer.messages / f"{lang}.{ext}"
                number += 1
                texts = read_catalogue(file) if file.is_file() else {}
                if message_id in texts:
                    status = "shadowed" if won else "WINS"
                    won = True
                    lines.append(f"  {number}. {status:<9}{layer.kind} {layer.name!r}: {file}")
                    lines.append(f"{'':14}{texts[message_id]!r}")
                else:
                    lines.append(f"  {number}. {'-':<9}{layer.kind} {layer.name!r}: {file}")
        if not won:
            lines.append(f"  no catalogue has {message_id} in {lang!r} (English is the fallback)")
        return won


def files_under(folder: Path, root: Path | None = None) -> tuple[str, ...]:
    """The files below `folder` as sorted relative POSIX paths, without dot files (.gitkeep,
    .DS_Store, editor swap files are never part of a site). `root` is the layer `folder`
    belongs to: a symlink out of it is a BuildError (see `links.walk`)."""
    return tuple(walk(folder, root or folder))


class LayerLoader(FileSystemLoader):
    """Jinja's FileSystemLoader over one layer's templates that refuses a template whose
    file is a link out of the layer: `{% include %}` and `{% extends %}` read through the
    loader, which follows links, and a dot file is never walked by `check_links`."""

    def __init__(self, layer: Layer) -> None:
        super().__init__([layer.templates])
        self.layer = layer

    def get_source(
        self, environment: Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        source, filename, uptodate = super().get_source(environment, template)
        confined(Path(filename), self.layer.root)
        return source, filename, uptodate


def _choice(layers: Sequence[Layer]) -> ChoiceLoader:
    """The first of `layers` that has a template wins (one FileSystemLoader per layer, so
    each knows the layer its files must stay in)."""
    return ChoiceLoader([LayerLoader(layer) for layer in layers])


def _kind_of(name: str) -> AssetKind:
    if _MESSAGE_ID.match(name):
        return "messages"
    return "templates" if name.endswith(".html") else "static"


def _is_under(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True
