"""Putting a rendered site in place atomically: the new folder is written next to the old
one and swapped in by renames, so a reader (or a failed build) never sees a half-written
`site/<vdir>/`."""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

from pwreset.builder.errors import BuildError

log = logging.getLogger(__name__)


def write_site(output: Path, vdir: str, files: Mapping[str, bytes]) -> Path:
    """Replace `output/vdir` by exactly `files`; return the site folder."""
    target = output / vdir
    try:
        output.mkdir(parents=True, exist_ok=True)
        _remove_leftovers(output, vdir)
        fresh = Path(tempfile.mkdtemp(prefix=f".{vdir}.new-", dir=output))
    except OSError as exc:
        raise BuildError("write", f"cannot prepare {output}: {exc}", site=vdir) from None
    try:
        _write_files(fresh, files)
        _swap(fresh, target)
    except OSError as exc:
        shutil.rmtree(fresh, ignore_errors=True)
        raise BuildError("write", f"cannot write {target}: {exc}", site=vdir) from None
    return target


def _write_files(folder: Path, files: Mapping[str, bytes]) -> None:
    # mkdtemp makes the folder private (0700); a web server must be able to read the site.
    folder.chmod(0o755)
    for name, data in sorted(files.items()):
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        path.chmod(0o644)


def _swap(fresh: Path, target: Path) -> None:
    """Move the old folder aside, the new one in, then delete the old one."""
    if not target.exists():
        fresh.rename(target)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    old.rmdir()  # only the unique name is wanted; rename needs it free
    target.rename(old)
    try:
        fresh.rename(target)
    except OSError:
        old.rename(target)
        raise
    _remove(old)


def _remove_leftovers(output: Path, vdir: str) -> None:
    """Folders a killed build left behind (its temporary and moved-aside copies)."""
    for prefix in (f".{vdir}.new-", f".{vdir}.old-"):
        for path in output.glob(f"{prefix}*"):
            _remove(path)


def _remove(path: Path) -> None:
    try:
        shutil.rmtree(path)
    except OSError as exc:
        # The new site is already in place; a stale copy only wastes space.
        log.warning("could not remove %s: %s", path, exc)
