"""`pwreset db copy --from embedded|postgresql --to postgresql|embedded`: move everything
between the embedded store (server.data_dir) and PostgreSQL (storage.dsn), whichever
`storage.backend` says now. The destination is cleared first and the counts verified (see
`storage.transfer`); a progress bar on a terminal, only the result otherwise."""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import Any

from pwreset.cli.options import config_of
from pwreset.config.errors import ConfigError
from pwreset.config.schema import Config
from pwreset.config.secrets import database_password
from pwreset.console.command import EXIT_USAGE, ConsoleError, add_action, data_dir, data_key
from pwreset.server.storage import Database
from pwreset.server.storage.transfer import PARTS, Contents, Counts, copy_contents

_STORES = ("embedded", "postgresql")


def add_copy(actions: Any) -> None:
    copy = add_action(
        actions,
        "copy",
        "copy everything between the embedded store and PostgreSQL (servers stopped)",
        _copy,
    )
    copy.add_argument("--from", dest="source", choices=_STORES, required=True)
    copy.add_argument("--to", dest="destination", choices=_STORES, required=True)


def _copy(args: argparse.Namespace) -> int:
    if args.source == args.destination:
        print(f"pwreset: --from and --to are both {args.source}", file=sys.stderr)
        return EXIT_USAGE
    config = config_of(args)
    with contextlib.ExitStack() as stack:
        source, source_name = _open(config, args.source, stack, reading=True)
        destination, destination_name = _open(config, args.destination, stack, reading=False)
        with _progress_bar() as bar:
            counts = copy_contents(source, destination, bar)
    print(f"copied {source_name} -> {destination_name}: {counts}; the counts match")
    print(
        f'Set storage.backend = "{args.destination}" in {config.source or "pwreset.toml"} '
        "(on every server) if it does not say so yet, then start the servers."
    )
    return 0


def _open(
    config: Config, kind: str, stack: contextlib.ExitStack, *, reading: bool
) -> tuple[Contents, str]:
    """The contents of one end, and how to name it; closed with `stack`."""
    if kind == "embedded":
        from pwreset.server.storage.transfer import EmbeddedContents

        # The owner lock: refused while a server (or another tool) has the folder open.
        db = stack.enter_context(Database.open(data_dir(config), data_key=data_key(config)))
        return EmbeddedContents(db), f"the embedded store in {data_dir(config)}"
    from pwreset.server.storage.postgres import PostgresStore
    from pwreset.server.storage.postgres.contents import contents_of

    if config.storage.dsn is None:
        raise ConsoleError(
            f"{config.source or 'pwreset.toml'}: storage.dsn is not set: the copy needs the "
            "PostgreSQL connection string (postgresql://USER@HOST:PORT/DATABASE)"
        )
    try:
        password = database_password(config)
    except ConfigError as exc:
        raise ConsoleError(str(exc)) from None
    store = stack.enter_context(
        PostgresStore.open(config.storage.dsn, password=password, data_key=None, workers=1)
    )
    contents = stack.enter_context(contents_of(store, reading=reading))
    return contents, f"PostgreSQL at {store.connections.shown}"


class _Bar:
    """The copy's progress as a rich bar per part."""

    def __init__(self, bar: Any) -> None:
        self._bar = bar
        self._tasks: dict[str, Any] = {}

    def start(self, counts: Counts) -> None:
        for part in PARTS:
            self._tasks[part] = self._bar.add_task(f"copying {part}", total=getattr(counts, part))

    def advance(self, part: str, done: int) -> None:
        self._bar.advance(self._tasks[part], done)


@contextlib.contextmanager
def _progress_bar() -> Any:
    """A rich progress bar on a terminal; nothing otherwise (rich is optional)."""
    if not sys.stderr.isatty():
        yield None
        return
    try:
        from rich.console import Console
        from rich.progress import Progress
    except ImportError:
        yield None
        return
    # On stderr, where the terminal was seen: stdout may go to a file (the report only).
    with Progress(console=Console(stderr=True), transient=True) as bar:
        yield _Bar(bar)
