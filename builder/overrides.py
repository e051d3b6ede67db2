"""Upgrade safety: which stock files the instance's overrides shadow, and whether those stock
files changed since.

An override (a file in `sites/<vdir>/`, `custom/` or an instance theme) that has the same
name as a file of a stock theme or the base templates hides that file. When an upgrade of
pwreset changes the hidden file, the override may need the same change (a new block, a fixed
text). Each build records, per override, the hash of the stock file it shadows and keeps a
copy of that stock file; `pwreset themes check` (and a warning of `pwreset build`) lists every
override whose stock original changed since, with a unified diff of the change, until
`pwreset themes accept` records the new version as merged.

Messages are tracked per id: rewording `RES_WRONG_ANSWER` in `custom/messages/en.toml`
shadows that id's text in the stock catalogue.

The record lives in `<instance>/.pwreset/` (keep it under version control with the instance).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pwreset.builder.layers import Layer, Layers, files_under
from pwreset.builder.messages import FORMATS, read_catalogue
from pwreset.builder.output import replace_file

STATE_DIR = Path(".pwreset")
RECORD = STATE_DIR / "overrides.json"
BLOBS = STATE_DIR / "stock"
_VERSION = 1
_DIGEST = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Shadow:
    """One override and the stock thing it hides, as it is now."""

    override: str  # the override, relative to the instance ("custom/templates/change.html")
    stock: str  # the stock original ("themes/default/templates/change.html")
    content: bytes  # the stock original's current content (a message's text, for ids)

    @property
    def key(self) -> str:
        return f"{self.override} -> {self.stock}"

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass(frozen=True)
class Change:
    """An override whose stock original changed (or vanished) since it was recorded."""

    override: str
    stock: str
    diff: str  # unified diff from the recorded stock version to the current one

    def describe(self) -> str:
        return f"{self.override} overrides {self.stock}, which changed since it was recorded"


def find_shadows(layers: Layers, instance: Path) -> list[Shadow]:
    """Every (override, stock original) pair of one site's search path."""
    found: list[Shadow] = []
    for index, layer in enumerate(layers.layers):
        if layer.stock:
            continue
        below = [low for low in layers.layers[index + 1 :] if low.stock]
        for what in ("templates", "static"):
            folder = layer.folder_of(what)
            if folder is None or not folder.is_dir():
                continue
            for name in files_under(folder, layer.root):
                stock = _first_stock(below, what, name)
                if stock is not None:
                    found.append(
                        Shadow(_relative(folder / name, instance), stock[0], stock[1].read_bytes())
                    )
        found += _message_shadows(layer, below, instance)
    return found


def shadows_of(sites: Iterable[Layers], instance: Path) -> dict[str, Shadow]:
    """The shadows of several sites, each pair once."""
    return {shadow.key: shadow for layers in sites for shadow in find_shadows(layers, instance)}


def record(instance: Path, shadows: dict[str, Shadow]) -> None:
    """Add new pairs to the record; keep the recorded version of known ones (so a change
    stays reported until accepted) and drop pairs that no longer exist."""
    entries = _load(instance)
    kept = {key: entries[key] for key in shadows if key in entries}
    for key, shadow in shadows.items():
        if key not in kept:
            kept[key] = _entry(instance, shadow)
    if kept != entries:
        _save(instance, kept)


def accept(instance: Path, shadows: dict[str, Shadow], only: Sequence[str] = ()) -> list[str]:
    """Record the current stock version for every pair (or those whose override is in
    `only`); returns the keys accepted."""
    entries = _load(instance)
    accepted = []
    for key, shadow in shadows.items():
        if only and shadow.override not in only:
            continue
        entries[key] = _entry(instance, shadow)
        accepted.append(key)
    _save(instance, {k: v for k, v in entries.items() if k in shadows})
    return accepted


def changes(instance: Path, shadows: dict[str, Shadow]) -> list[Change]:
    """Recorded pairs whose stock original is different now, with a diff of the change."""
    entries = _load(instance)
    found = []
    for key, shadow in sorted(shadows.items()):
        entry = entries.get(key)
        if entry is None or entry["sha256"] == shadow.digest:
            continue
        old = _blob(instance, entry["sha256"])
        diff = "".join(
            difflib.unified_diff(
                _lines(old),
                _lines(shadow.content),
                f"{shadow.stock} (recorded {entry['recorded']})",
                f"{shadow.stock} (now)",
            )
        )
        found.append(Change(shadow.override, shadow.stock, diff))
    return found


def _first_stock(below: Sequence[Layer], what: str, name: str) -> tuple[str, Path] | None:
    for layer in below:
        folder = layer.folder_of(what)  # type: ignore[arg-type]
        if folder is not None and (folder / name).is_file():
            return _stock_name(layer, what, name), folder / name
    return None


def _stock_name(layer: Layer, what: str, name: str) -> str:
    """A stock file's name independent of where pwreset is installed."""
    if layer.kind == "base":
        return f"templates/{name}"
    return f"themes/{layer.name}/{what}/{name}"


def _message_shadows(layer: Layer, below: Sequence[Layer], instance: Path) -> list[Shadow]:
    if layer.messages is None or not layer.messages.is_dir():
        return []
    found = []
    for file in sorted(layer.messages.iterdir()):
        lang, _, ext = file.name.partition(".")
        if ext not in FORMATS:
            continue
        for message_id in read_catalogue(file):
            for low in below:
                hit = _stock_text(low, lang, message_id)
                if hit is not None:
                    stock = f"themes/{low.name}/messages/{hit[0]}#{message_id}"
                    override = f"{_relative(file, instance)}#{message_id}"
                    found.append(Shadow(override, stock, hit[1].encode("utf-8")))
                    break
    return found


def _stock_text(layer: Layer, lang: str, message_id: str) -> tuple[str, str] | None:
    if layer.messages is None:
        return None
    for ext in reversed(FORMATS):
        file = layer.messages / f"{lang}.{ext}"
        if file.is_file() and message_id in read_catalogue(file):
            return file.name, read_catalogue(file)[message_id]
    return None


def _relative(path: Path, instance: Path) -> str:
    try:
        return path.relative_to(instance).as_posix()
    except ValueError:
        return path.as_posix()


def _entry(instance: Path, shadow: Shadow) -> dict[str, str]:
    blob = instance / BLOBS / shadow.digest
    if not blob.exists():
        replace_file(blob, shadow.content)
    return {
        "override": shadow.override,
        "stock": shadow.stock,
        "sha256": shadow.digest,
        "recorded": _today(),
    }


def _today() -> str:
    import datetime

    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _blob(instance: Path, digest: str) -> bytes:
    """The recorded copy of a stock file; empty (the diff then shows the whole current file)
    when it was deleted. A record edited by hand (`"sha256": "../../keys/data.key"`) or a
    copy that is a link must never make the report print some other file."""
    if not _DIGEST.match(digest):
        return b""
    try:
        fd = os.open(instance / BLOBS / digest, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return b""
    with os.fdopen(fd, "rb") as stream:
        return stream.read()


def _lines(data: bytes) -> list[str]:
    text = data.decode("utf-8", errors="replace")
    return [line if line.endswith("\n") else line + "\n" for line in text.splitlines()]


def _load(instance: Path) -> dict[str, Any]:
    try:
        data = json.loads((instance / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != _VERSION:
        return {}
    return {e["override"] + " -> " + e["stock"]: e for e in data.get("overrides", [])}


def _save(instance: Path, entries: dict[str, Any]) -> None:
    data = {"version": _VERSION, "overrides": [entries[k] for k in sorted(entries)]}
    replace_file(instance / RECORD, (json.dumps(data, indent=2) + "\n").encode("utf-8"))
