"""Symlinks in layers: a file reaches a site only from inside its own layer.

A theme or override folder is often a designer's git checkout, and a commit can hold
symlinks. The builder follows one only when its target (after every link on the way) is
inside the same layer's folder; a link out of the layer (to the instance's keys, say) fails
the build with the link's name and target, before anything is read through it. The layer's
folder itself may be a link (a theme checked out elsewhere): its target is the layer.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from pwreset.builder.errors import BuildError

CODE = "symlink"


def confined(path: Path, root: Path) -> Path:
    """`path`, a file or folder below the layer folder `root`, if it really is inside the
    layer; otherwise a BuildError naming the first link on the way that leads out."""
    real_root = real(root)
    if within(real(path), real_root):
        return path
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        raise _outside(path, real(path), root) from None
    step = root
    for part in parts:
        step = step / part
        reached = real(step)
        if not within(reached, real_root):
            raise _outside(step, reached, root)
    raise _outside(path, real(path), root)  # not reached: some step leads out


def walk(folder: Path, root: Path) -> Iterator[str]:
    """The files below `folder` (a folder of the layer at `root`) as sorted relative POSIX
    paths, without dot files (.gitkeep, .DS_Store and editor files are never part of a site;
    Emacs' `.#name` lock files are dangling links). A link out of the layer, or a linked
    folder that leads back to a folder being walked, is a BuildError."""
    if not folder.exists():
        return
    confined(folder, root)
    yield from _walk(folder, "", root, real(root), (real(folder),))


def _walk(
    folder: Path, prefix: str, root: Path, real_root: str, open_folders: tuple[str, ...]
) -> Iterator[str]:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = Path(entry.path)
        target = open_folders[-1] + os.sep + entry.name
        if entry.is_symlink():
            target = real(path)
            if not within(target, real_root):
                raise _outside(path, target, root)
        if entry.is_dir():
            if any(within(inner, target) for inner in open_folders):
                raise BuildError(
                    CODE,
                    f"is a symbolic link to {target}, a folder that contains the link "
                    "(it would be walked for ever)",
                    file=path,
                )
            yield from _walk(
                path, f"{prefix}{entry.name}/", root, real_root, (*open_folders, target)
            )
        elif entry.is_file():
            yield prefix + entry.name


def _outside(link: Path, target: str, root: Path) -> BuildError:
    return BuildError(
        CODE,
        f"is a symbolic link to {target}, outside its layer {root}; the builder never follows "
        "a link out of a layer (copy the file into the layer instead)",
        file=link,
    )


def real(path: Path | str) -> str:
    # os.path.realpath rather than Path.resolve: a link loop must not raise here (it is
    # only a file that cannot be read, which the callers skip or report).
    return os.path.realpath(path)


def within(path: str, folder: str) -> bool:
    """Whether real path `path` is `folder` or below it."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)
