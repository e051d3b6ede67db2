"""A cache of seeded, stopped Samba target dirs, keyed by everything that shapes them.

Provisioning and seeding take ~20 s; restoring a copy and starting it takes ~1-2 s.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import stat
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pwreset_lab import samba_build
from pwreset_lab.directory import SAMPLE_PASSWORD, SAMPLE_USERS
from pwreset_lab.errors import LabError

# Survives reboots and tmp cleaners longer than /tmp; safe_cache_dir guards the shared parent.
DEFAULT_CACHE_DIR = Path("/var/tmp/pwreset-lab-cache")  # noqa: S108
TARGET = "samba"  # the target dir's name inside a lab root and inside a cache entry
BUILT_AT = "built-at"  # file in an entry: the target dir path the smb.conf was written for
MAX_AGE_SECONDS = 30 * 86400
KEEP_OTHER_ENTRIES = 3  # other recipes' entries kept besides the one just built


def cache_key(extra_sources: list[Path]) -> str:
    """Hash of the recipe: samba's version, the build parameters and the modules' source."""
    version = subprocess.run(["samba", "-V"], capture_output=True, text=True, check=False).stdout
    digest = hashlib.sha256(version.encode())
    params = {
        "realm": samba_build.REALM,
        "netbios": samba_build.NETBIOS,
        "options": samba_build.PROVISION_OPTIONS,
        "globals": samba_build.EXTRA_GLOBALS,
        "policy": samba_build.DOMAIN_POLICY,
        "users": SAMPLE_USERS,
        "password": SAMPLE_PASSWORD,
    }
    digest.update(json.dumps(params, sort_keys=True).encode())
    for source in [Path(samba_build.__file__), Path(__file__), *extra_sources]:
        digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


def entry_path(cache_dir: Path, key: str) -> Path:
    return cache_dir / f"samba-{key}"


def is_usable(entry: Path) -> bool:
    """True if the entry was fully built and is young enough to restore."""
    # An entry only gets its final name after it was fully built (see store), so a
    # half-written one never has BUILT_AT.
    try:
        built = (entry / BUILT_AT).stat().st_mtime
    except OSError:
        return False
    # Passwords set at build time (Administrator's, the sample users') expire after the
    # domain's maxPwdAge of 90 days; rebuilding monthly keeps every restored lab usable.
    return time.time() - built < MAX_AGE_SECONDS and (entry / TARGET / "etc").is_dir()


def safe_cache_dir(cache_dir: Path) -> Path:
    """Create `cache_dir` 0700, or check that an existing one is ours and private.

    It sits in world-writable /var/tmp by default: a directory (or symlink) planted there by
    someone else must not receive the lab's passwords or feed us a doctored Samba.
    """
    cache_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = cache_dir.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
        raise LabError(f"{cache_dir} is not a directory owned by uid {os.geteuid()}")
    if info.st_mode & 0o077:
        raise LabError(f"{cache_dir} is accessible to other users; run: chmod 700 {cache_dir}")
    return cache_dir


@contextmanager
def locked(cache_dir: Path) -> Iterator[None]:
    """Hold the cache to this process: labs starting at the same moment (parallel test
    workers, other checkouts) would otherwise build into one staging dir, or copy an entry
    that another recipe's `store` is deleting. Released when the process dies, too."""
    with (cache_dir / ".lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def staging_dir(cache_dir: Path, key: str) -> Path:
    staging = cache_dir / f".build-{key}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(mode=0o700)
    return staging


def store(staging: Path, cache_dir: Path, key: str) -> Path:
    """Publish a built staging dir (its samba stopped) as the entry for `key`."""
    (staging / BUILT_AT).write_text(str(staging / TARGET))
    entry = entry_path(cache_dir, key)
    shutil.rmtree(entry, ignore_errors=True)
    staging.rename(entry)
    # Entries for other keys are other recipes: old ones, or another checkout's that runs
    # right now (deleting those would make each side rebuild the other's away). Keep the
    # newest few that are still usable; drop the rest (~40 MB each).
    others = sorted(
        (old for old in cache_dir.glob("samba-*") if old != entry and is_usable(old)),
        key=lambda old: (old / BUILT_AT).stat().st_mtime,
        reverse=True,
    )
    for old in cache_dir.glob("samba-*"):
        if old != entry and old not in others[:KEEP_OTHER_ENTRIES]:
            shutil.rmtree(old, ignore_errors=True)
    return entry


def restore(entry: Path, root: Path) -> Path:
    """Copy the entry's target dir into `root` and point its smb.conf at the new place."""
    target = root / TARGET
    # cp -a keeps modes, owners and xattrs (Samba stores NT ACLs in xattrs).
    done = subprocess.run(
        ["cp", "-a", str(entry / TARGET), str(target)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise LabError(f"restoring the Samba cache {entry} failed: {done.stderr.strip()}")
    # smb.conf is the only file that holds the absolute target path (checked with grep -r).
    built_at = (entry / BUILT_AT).read_text()
    conf = target / "etc" / "smb.conf"
    conf.write_text(conf.read_text().replace(built_at, str(target)))
    return target
