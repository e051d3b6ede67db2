"""Rebuild only what changed: a site whose inputs (its configuration, every file of its
search path, the build options and the builder itself) are as they were at its last build,
and whose output is still in place, is not rendered again.

Inputs are compared by file listing, mtime and size, as `make` and MkDocs' dirty builds do,
with git's guard against "racy" stamps: a file changed within the same clock step as the
build that read it would look unchanged, so a build never trusts a stamp that new.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pwreset import __version__
from pwreset.builder.layers import Layers
from pwreset.builder.output import replace_file
from pwreset.builder.render_plan import BuildOptions
from pwreset.config.schema import Config

STATE = Path(".pwreset") / "cache" / "build-state.json"
_RACY_NS = 2_000_000_000
_BUILDER = Path(__file__).parent


@dataclass
class Scanner:
    """Folder listings with stamps, each folder scanned once per build (fifty sites share
    the stock theme's folders)."""

    _listings: dict[Path, tuple[tuple[str, int, int], ...]] = field(default_factory=dict)

    def listing(self, folder: Path) -> tuple[tuple[str, int, int], ...]:
        if folder not in self._listings:
            self._listings[folder] = tuple(_scan(folder, ""))
        return self._listings[folder]


@dataclass(frozen=True)
class Fingerprint:
    digest: str
    newest_ns: int  # the newest input mtime (the racy-stamp guard needs it)


def fingerprint(
    config: Config, vdir: str, layers: Layers, options: BuildOptions, scanner: Scanner
) -> Fingerprint:
    site = config.sites[vdir]
    h = hashlib.sha256()
    newest = 0
    h.update(__version__.encode())
    h.update(site.model_dump_json().encode())
    h.update(repr((options, str(config.path(config.build.output)))).encode())
    folders = [_BUILDER, *_layer_folders(layers)]
    for folder in folders:
        h.update(f"\0{folder}\0".encode())
        for name, mtime, size in scanner.listing(folder):
            h.update(f"{name}:{mtime}:{size}\n".encode())
            newest = max(newest, mtime)
    return Fingerprint(h.hexdigest(), newest)


def _layer_folders(layers: Layers) -> Iterable[Path]:
    # Whole layer folders: a link that stays inside its layer may point anywhere in it.
    return [layer.root for layer in layers.layers]


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
        if now.newest_ns >= int(entry.get("built_ns", 0)) - _RACY_NS:
            return False
        # The output must be exactly what was written: nothing missing, changed or added.
        written = {name: size for name, _, size in _scan(target, "")}
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


def _scan(folder: Path, prefix: str) -> Iterable[tuple[str, int, int]]:
    """Names with stamps. A link is listed with its target and never followed: a link out
    of a layer is refused by the build anyway, one inside points at files listed here too,
    and a linked folder that loops would otherwise be walked for ever (by `--watch` too)."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith(".") or entry.name == "__pycache__":
            continue
        if entry.is_symlink():
            st = entry.stat(follow_symlinks=False)
            yield f"{prefix}{entry.name} -> {_link_target(entry.path)}", st.st_mtime_ns, -1
        elif entry.is_dir():
            yield from _scan(Path(entry.path), f"{prefix}{entry.name}/")
        else:
            st = entry.stat()
            yield prefix + entry.name, st.st_mtime_ns, st.st_size


def _link_target(path: str) -> str:
    try:
        return str(Path(path).readlink())
    except OSError:
        return "?"
