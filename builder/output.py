"""Putting a rendered site in place atomically: the new folder is written next to the old
one and swapped in by renames, so a reader (or a failed build) never sees a half-written
`site/<vdir>/`. Published folders are 0755 and files 0644 whatever the umask (a web server
reads them; nobody else may change them, nothing there is a program)."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from pwreset.builder import links
from pwreset.builder.errors import BuildError

log = logging.getLogger(__name__)


FOLDER_MODE = 0o755
FILE_MODE = 0o644


def refuse_links(output: Path, vdirs: Iterable[str] = ()) -> None:
    """The output folder and its site folders must be real folders. A build replaces
    `<output>/<vdir>` wholesale and the preview serves `<output>`: a link there would send
    the site (and the renames, and the deletion of the old copy) somewhere else, or serve
    what it points to. Where the sites go is `[build] output`, not a link."""
    for path in (output, *(output / vdir for vdir in vdirs)):
        if path.is_symlink():
            raise BuildError(
                links.CODE,
                f"is a symbolic link to {links.real(path)}; the build output must be a real "
                "folder (remove the link, and set [build] output to where the sites should go)",
                file=path,
            )


def write_site(output: Path, vdir: str, files: Mapping[str, bytes]) -> Path:
    """Replace `output/vdir` by exactly `files`; return the site folder."""
    target = output / vdir
    refuse_links(output, [vdir])
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
    folder.chmod(FOLDER_MODE)
    for name, data in sorted(files.items()):
        path = folder / name
        _make_folders(folder, path.parent)
        # A new file in the fresh folder: O_EXCL and O_NOFOLLOW never write through a link.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
        with os.fdopen(fd, "wb") as stream:
            os.fchmod(fd, FILE_MODE)  # the umask may have taken bits away
            stream.write(data)


def _make_folders(top: Path, folder: Path) -> None:
    """`folder` and its parents below `top`, each FOLDER_MODE (mkdir applies the umask,
    which may leave a folder writable by everyone, or unreadable by the web server)."""
    if folder == top or folder.is_dir():
        return
    _make_folders(top, folder.parent)
    folder.mkdir()
    folder.chmod(FOLDER_MODE)


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
        if path.is_symlink():
            path.unlink()  # a leftover name planted as a link: drop the link, not its target
        else:
            shutil.rmtree(path)
    except OSError as exc:
        # The new site is already in place; a stale copy only wastes space.
        log.warning("could not remove %s: %s", path, exc)


def replace_file(path: Path, data: bytes) -> None:
    """Write one file of the builder's own records atomically (a crash never leaves it
    half-written). The data goes to a new temporary file and is renamed over `path`, so a
    link planted at either name is replaced, never written through."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
        Path(temp).replace(path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
