"""`pwreset notices [--dry-run]`: the password expiry notices now, or who would get which.

The running server sends them itself once a day (`[expiry_notices] hour`); this command is
for a preview (`--dry-run`, which reads the directories and the database and sends
nothing, also while the server runs) or a round while the server is stopped.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from pwreset.cli.options import add_config_option, config_of
from pwreset.cli.progress import progress_bar
from pwreset.config.errors import ConfigError, Problem

if TYPE_CHECKING:
    from pwreset.config.schema import Config
    from pwreset.server.directory import Directory
    from pwreset.server.notify import Notifier
    from pwreset.server.storage.store import AuditTrail, Store
    from pwreset.server.user_messages import MessageRound

_COMMAND = "pwreset notices"


def register(sub: Any) -> None:
    register_round(sub, "notices", "the password expiry notices", "notice", run)


def register_round(
    sub: Any, name: str, what: str, noun: str, run: Callable[[argparse.Namespace], int]
) -> None:
    """`pwreset <name> [--dry-run]`: a round of messages to users (`what`, one a `noun`)."""
    parser: argparse.ArgumentParser = sub.add_parser(
        name, help=f"send {what} due now, or list them (--dry-run)"
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help=f"list who would get which {noun}, and where; send nothing and record nothing",
    )
    add_config_option(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pwreset.server.expiry_notices import Notice, NoticeRound

    def described(notice: Notice) -> str:
        expires = datetime.fromtimestamp(notice.expires).strftime("%Y-%m-%d %H:%M")
        return (f"{notice.threshold}-day notice, {notice.days_left} day(s) left "
                f"(expires {expires}), in {notice.language!r}")  # fmt: skip

    return run_user_round(config_of(args), args, _COMMAND, "expiry_notices", NoticeRound,
                          "expiry notice", described)  # fmt: skip


def run_user_round(
    config: Config,
    args: argparse.Namespace,
    command: str,
    table: str,
    make: Callable[..., MessageRound[Any, Any]],
    noun: str,
    described: Callable[[Any], str],
) -> int:
    """`pwreset notices|reminders [--dry-run]`: plan the round `make` builds (the settings
    in `[table]`), list it, and send it unless it is a dry run."""
    if not getattr(config, table).enabled and not args.dry_run:
        print(f"{command}: [{table}] enabled is false: nothing is sent "
              "(--dry-run shows what would be)", file=sys.stderr)  # fmt: skip
        return 2
    with user_round(config, command, make, dry_run=args.dry_run) as opened:
        if opened is None:
            return 2
        messages, audit = opened
        now = time.time()
        with progress_bar(command, "reading the directories") as update:
            report = messages.plan(
                now, None if update is None else lambda d, n: update(n, f"{d}: {n} users")
            )
        for domain in report.unreachable:
            print(f"{command}: domain {domain} did not answer: no {noun}s for it", file=sys.stderr)
        if not report.due:
            print(f"no {noun} is due")
        else:
            print(f"{len(report.due)} {noun}(s) {'would be sent' if args.dry_run else 'due'}:")
        for message in report.due:
            to = ", ".join(messages.destinations(message)) or "(no address)"
            print(f"  {message.domain}\\{message.username}: {described(message)}, to {to}")
        if not args.dry_run:
            messages.send(report, notifier_of(config), audit, now)
            print(f"{report.sent} sent, {report.failed} not sent (see the log and the audit)")
    return 1 if report.unreachable or report.failed else 0


R = TypeVar("R")


@contextlib.contextmanager
def user_round(
    config: Config, command: str, make: Callable[..., R], *, dry_run: bool
) -> Iterator[tuple[R, AuditTrail] | None]:
    """A round of messages to users (`make`: NoticeRound, EnrollmentDrive) over the
    configured directories and store, and the store's audit trail; None (after saying why)
    when the store cannot be opened."""
    hint = "" if dry_run else " (a running server sends them itself)"
    with directories_and_store(config, command, read_only=dry_run, hint=hint) as opened:
        if opened is None:
            yield None
            return
        directories, db, data_key = opened
        from pwreset.server.flows.codes import SendLimits

        yield make(config, directories, db.users, db.keyed, SendLimits(data_key)), db.audit


@contextlib.contextmanager
def directories_and_store(
    config: Config, command: str, *, read_only: bool, hint: str = ""
) -> Iterator[tuple[dict[str, Directory], Store, bytes] | None]:
    """The configured directories, the store and the data key; None (after saying why,
    with `hint`) when the store cannot be opened. `read_only` opens the embedded store
    without its owner lock, so it also works while the server runs."""
    from pwreset.protocol.keys import read_secret_key
    from pwreset.server.directory import open_directory
    from pwreset.server.runner import open_exporting_store
    from pwreset.server.storage import Database, StorageError

    file = config.source or config.base_dir / "pwreset.toml"
    try:
        data_key = read_secret_key(config.path(config.server.data_key_file))
    except ValueError as exc:
        raise ConfigError([Problem(file, "server.data_key_file", str(exc))]) from None
    directories: dict[str, Directory] = {}
    for index in range(len(config.domains)):
        directory = open_directory(config, index)
        directories[directory.name] = directory
    try:
        if read_only and config.storage.backend == "embedded":
            # Read-only: also while the server runs (it holds the folder's owner lock).
            db: Store = Database.open_readonly(
                config.path(config.server.data_dir), data_key=data_key
            )
        else:
            db = open_exporting_store(config, data_key)
    except StorageError as exc:
        print(f"{command}: {exc}{hint}", file=sys.stderr)
        yield None
        return
    try:
        yield directories, db, data_key
    finally:
        db.close()


def notifier_of(config: Config) -> Notifier:
    from pwreset.server.notify import Notifier, NotifyError

    try:
        return Notifier.from_config(config)
    except NotifyError as exc:
        file = config.source or config.base_dir / "pwreset.toml"
        raise ConfigError([Problem(file, "email", str(exc))]) from None
