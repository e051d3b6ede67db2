"""File stamps (mtime in ns, size): how the builder tells that a file changed without
reading it. Two users: the per-process caches of things parsed from files, and the folder
listings an incremental build and `--watch` compare.

A file system stamps times in coarse steps (a few ms), so a file written again within one
step keeps its mtime. As git does for its index ("racy clean"), a stamp is trusted only when
it was already `RACY_NS` old when it was taken.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

T = TypeVar("T")

RACY_NS = 2_000_000_000

Stamp = tuple[int, int]
# A folder's files as (relative name, mtime in ns, size), sorted by name.
Listing = tuple[tuple[str, int, int], ...]


def stamp(path: Path) -> Stamp | None:
    """(mtime in ns, size) of a file, or None when it does not exist."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


# Every FileCache made, so a benchmark can start cold (`clear_caches`).
_CACHES: list[FileCache[Any]] = []


class FileCache(Generic[T]):
    """`get(path, load)` returns `load(path)`, computed again only when the file changed.

    Fifty sites share one stock theme: without this, each site would read and parse the same
    files again. `--watch` and the preview keep one process alive, so an edited file is picked
    up by its new stamp while everything else stays cached.
    """

    def __init__(self) -> None:
        self._entries: dict[Path, tuple[Stamp | None, int, T]] = {}
        _CACHES.append(self)

    def get(self, path: Path, load: Callable[[Path], T]) -> T:
        current = stamp(path)
        entry = self._entries.get(path)
        fresh = entry is not None and current is not None and entry[0] == current
        if fresh and current is not None and entry is not None and current[0] < entry[1] - RACY_NS:
            return entry[2]
        cached_at = time.time_ns()
        value = load(path)
        self._entries[path] = (current, cached_at, value)
        return value

    def clear(self) -> None:
        self._entries.clear()


def clear_caches() -> None:
    """Forget every cached file (a new process's first build)."""
    for cache in _CACHES:
        cache.clear()


@dataclass
class Scanner:
    """Folder listings, each folder scanned once per build (fifty sites share the stock
    theme's folders)."""

    _listings: dict[Path, Listing] = field(default_factory=dict)

    def listing(self, folder: Path) -> Listing:
        if folder not in self._listings:
            self._listings[folder] = listing(folder)
        return self._listings[folder]


def listing(folder: Path) -> Listing:
    """Every file below `folder` with its stamp, dot files and `__pycache__` left out."""
    return tuple(_scan(folder, ""))


def _scan(folder: Path, prefix: str) -> Iterator[tuple[str, int, int]]:
    """A link is listed with its target and never followed: a link out of a layer is
    refused by the build anyway, one inside points at files listed here too, and a linked
    folder that loops would otherwise be walked for ever (by `--watch` too)."""
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
