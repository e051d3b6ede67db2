"""What every console command shares: how it is registered (its `-c/--config` option, its
errors reported as one stderr line and a stable exit status) and how it opens the data.

Reading commands (`list`, `show`, `export`, `stats`, `db check`, `db backup`) open the files
read-only without the owner lock, so they are safe beside a running server. Commands that
write (`users delete`, `users purge`, `db restore|compact|move|rotate-key`) need the owner
lock and refuse, naming the server's pid, while it runs: the server is the only writer.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pwreset.cli.options import add_config_option
from pwreset.config.schema import Config
from pwreset.protocol.errors import KeyFileError
from pwreset.protocol.keys import read_secret_key
from pwreset.server.storage import Database, StorageError
from pwreset.server.storage.query import FilterError

EXIT_PROBLEM = 1  # the data or the environment
EXIT_USAGE = 2  # what the admin typed

Run = Callable[[argparse.Namespace], int]


class ConsoleError(Exception):
    """A console command cannot do what was asked; the message says what and how to fix it."""

    code = "console_error"


def command_group(sub: Any, name: str, help: str) -> Any:
    """`pwreset NAME ACTION ...`: returns the subparsers the actions are added to."""
    parser: argparse.ArgumentParser = sub.add_parser(name, help=help)
    return parser.add_subparsers(dest="action", required=True, metavar="ACTION")


def add_action(actions: Any, name: str, help: str, run: Run) -> argparse.ArgumentParser:
    """One action with `-c/--config`; `run` gets its errors reported (`reports_errors`).
    The caller adds the action's own arguments to the parser returned."""
    parser: argparse.ArgumentParser = actions.add_parser(name, help=help)
    add_config_option(parser)
    parser.set_defaults(run=reports_errors(run))
    return parser


def reports_errors(run: Run) -> Run:
    """Turn the console's, the storage's and the key files' errors into one stderr line and
    an exit status."""

    @functools.wraps(run)
    def wrapper(args: argparse.Namespace) -> int:
        try:
            return run(args)
        except FilterError as exc:
            print(f"pwreset: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except (ConsoleError, StorageError, KeyFileError) as exc:
            print(f"pwreset: {exc}", file=sys.stderr)
            return EXIT_PROBLEM

    return wrapper


def data_dir(config: Config) -> Path:
    return config.path(config.server.data_dir)


def data_key(config: Config) -> bytes:
    return read_secret_key(config.path(config.server.data_key_file))


def _embedded_only(config: Config) -> None:
    if config.storage.backend != "embedded":
        raise ConsoleError(
            f"this command works on the embedded store in {data_dir(config)}, and this "
            'instance keeps its data in PostgreSQL (storage.backend = "postgresql"); query '
            "the database, or copy it with `pwreset db copy --from postgresql --to embedded`"
        )


def open_view(config: Config, *, with_key: bool = False) -> Database:
    _embedded_only(config)
    return Database.open_readonly(data_dir(config), data_key=data_key(config) if with_key else None)


def open_owner(config: Config) -> Database:
    _embedded_only(config)
    return Database.open(
        data_dir(config),
        data_key=data_key(config),
        audit_retention_days=config.storage.audit_retention_days,
        compact_min_records=config.storage.compact_min_records,
    )
