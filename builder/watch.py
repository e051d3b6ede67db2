"""`pwreset build --watch`: poll the inputs of every site and rebuild when one changes.

Polling file stamps (twice a second) needs no extra dependency and works on network shares
and in containers where inotify does not. The rebuild itself is incremental (only sites
whose inputs changed are rendered again), and a broken template only prints its error: the
previous site stays in place and the next save tries again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from pwreset.builder.build import BuildOptions, BuiltSite, build_sites
from pwreset.builder.errors import BuildError
from pwreset.builder.stamps import Listing, listing
from pwreset.builder.stamps import stamp as stamp_of
from pwreset.config import load_config
from pwreset.config.errors import ConfigError

log = logging.getLogger(__name__)

Snapshot = tuple[tuple[str, Listing], ...]


def watched_folders(config_file: Path, options: BuildOptions) -> list[Path]:
    """What a designer edits (the instance's overrides and themes) and what an upgrade
    replaces (stock themes, base templates)."""
    instance = config_file.resolve().parent
    return [
        instance / "custom",
        instance / "sites",
        instance / "themes",
        options.stock_themes,
        options.base_templates,
    ]


def snapshot(config_file: Path, options: BuildOptions) -> Snapshot:
    stamp = stamp_of(config_file)
    config = ((config_file.name, *stamp),) if stamp else ()
    folders = watched_folders(config_file, options)
    return (("config", config), *((str(f), listing(f)) for f in folders))


def watch(
    config_file: Path,
    options: BuildOptions,
    *,
    only: list[str] | None = None,
    on_build: Callable[[list[BuiltSite]], None],
    on_error: Callable[[Exception], None],
    stop: threading.Event,
    interval: float = 0.5,
) -> None:
    """Build now, then again after every change, until `stop` is set."""
    seen: Snapshot | None = None
    while not stop.is_set():
        now = snapshot(config_file, options)
        if now != seen:
            seen = now
            try:
                config = load_config(config_file)
                on_build(build_sites(config, only=only, options=options))
            except (BuildError, ConfigError) as exc:
                on_error(exc)
        stop.wait(interval)
