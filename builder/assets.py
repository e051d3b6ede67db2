"""The site's static files: the stylesheet and script bundles, fingerprinted, and every other
static file copied as it is."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from pwreset.builder.errors import BuildError
from pwreset.builder.layers import Layers
from pwreset.builder.page_script import SCRIPT, bundle_script, is_module
from pwreset.builder.stamps import FileCache
from pwreset.builder.themes import ThemeOption

ASSETS_DIR = "assets"
STYLESHEET = "pwreset.css"
# Appended after the stylesheet from every layer that has one (lowest first), so a few
# rules in custom/ restyle a site without copying the theme's whole stylesheet.
EXTRA_STYLESHEET = "extra.css"


_FILES: FileCache[bytes] = FileCache()


class UnknownAssetError(LookupError):
    """A template referenced a static file no layer provides."""


@dataclass(frozen=True)
class Assets:
    """Files to write (path relative to the site folder -> bytes) and the URL of each static
    name as the pages refer to it (relative, so a site works under any path prefix)."""

    files: Mapping[str, bytes]
    urls: Mapping[str, str]

    def url(self, name: str) -> str:
        try:
            return self.urls[name]
        except KeyError:
            raise UnknownAssetError(f"no layer has a static file {name!r}") from None


def fingerprint(data: bytes) -> str:
    """Eight hex digits of the content hash: a changed file gets a new name, so a browser
    never mixes a cached old script with a new page."""
    return hashlib.sha256(data).hexdigest()[:8]


def css_root_block(options: Mapping[str, ThemeOption]) -> str:
    """The theme options that set custom properties, as one `:root{}` rule."""
    lines = [f"  {o.css}: {o.default};" for o in options.values() if o.css]
    return ":root {\n" + "\n".join(lines) + "\n}\n" if lines else ""


def build_assets(
    layers: Layers,
    options: Mapping[str, ThemeOption],
    tools: Mapping[str, Path] | None = None,
) -> Assets:
    """The site's assets. `tools` are scripts of the builder itself (the preview's reload
    hook, the gallery's player) added to preview and gallery builds only, fingerprinted
    like the page script."""
    statics = layers.static_files()
    files: dict[str, bytes] = {}
    urls: dict[str, str] = {}
    if STYLESHEET not in statics:
        raise BuildError(
            "static", f"no layer has {STYLESHEET}; searched: {'; '.join(layers.describe())}"
        )
    stylesheet = b"\n".join(
        [
            b"/* theme options (theme.toml) */\n" + css_root_block(options).encode(),
            _read(statics[STYLESHEET]),
            *(_read(path) for path in layers.static_copies(EXTRA_STYLESHEET)),
        ]
    )
    bundles = [(STYLESHEET, stylesheet), (SCRIPT, bundle_script(statics, _read))]
    bundles += [(name, _read(path)) for name, path in (tools or {}).items()]
    for name, data in bundles:
        stem, suffix = name.rsplit(".", 1)
        target = f"{ASSETS_DIR}/{stem}.{fingerprint(data)}.{suffix}"
        files[target] = data
        urls[name] = target
    for name, path in statics.items():
        if name in (STYLESHEET, SCRIPT, EXTRA_STYLESHEET) or is_module(name):
            continue
        data = _read(path)
        target = f"{ASSETS_DIR}/{PurePosixPath(name)}"
        files[target] = data
        # Kept under its own name (a stylesheet may refer to it by url()), so the query
        # string is what makes a browser fetch a swapped logo.
        urls[name] = f"{target}?v={fingerprint(data)}"
    return Assets(files, urls)


def _read(path: Path) -> bytes:
    """A static file's bytes; fifty sites on one theme read each stock file once."""
    return _FILES.get(path, _read_now)


def _read_now(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise BuildError("static", f"cannot be read: {exc}", file=path) from None
