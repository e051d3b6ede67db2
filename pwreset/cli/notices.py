"""`pwreset notices [--dry-run]`: the password expiry notices now, or who would get which.

The running server sends them itself once a day (`[expiry_notices] hour`); this command is
for a preview (`--dry-run`, which reads the directories and the database and sends
nothing, also while the server runs) or a round while the server is stopped.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pwreset.cli.options import add_config_option, config_of
from pwreset.cli.progress import progress_bar
from pwreset.config.errors import ConfigError, Problem

if TYPE_CHECKING:
    from pwreset.server.expiry_notices import NoticeReport, NoticeRound

_COMMAND = "pwreset notices"


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "notices", help="send the password expiry notices due now, or list them (--dry-run)"
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="list who would get which notice, and where; send nothing and record nothing",
    )
    add_config_option(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pwreset.protocol.keys import read_secret_key
    from pwreset.server.directory import Directory, open_directory
    from pwreset.server.expiry_notices import NoticeRound
    from pwreset.server.flows.codes import SendLimits
    from pwreset.server.runner import open_exporting_store
    from pwreset.server.storage import Database, StorageError
    from pwreset.server.storage.store import Store

    config = config_of(args)
    file = config.source or config.base_dir / "pwreset.toml"
    if not config.expiry_notices.enabled and not args.dry_run:
        print(f"{_COMMAND}: [expiry_notices] enabled is false: nothing is sent "
              "(--dry-run shows what would be)", file=sys.stderr)  # fmt: skip
        return 2
    try:
        data_key = read_secret_key(config.path(config.server.data_key_file))
    except ValueError as exc:
        raise ConfigError([Problem(file, "server.data_key_file", str(exc))]) from None
    directories: dict[str, Directory] = {}
    for index in range(len(config.domains)):
        directory = open_directory(config, index)
        directories[directory.name] = directory
    try:
        if args.dry_run and config.storage.backend == "embedded":
            # Read-only: also while the server runs (it holds the folder's owner lock).
            db: Store = Database.open_readonly(
                config.path(config.server.data_dir), data_key=data_key
            )
        else:
            db = open_exporting_store(config, data_key)
    except StorageError as exc:
        hint = "" if args.dry_run else " (a running server sends the notices itself)"
        print(f"{_COMMAND}: {exc}{hint}", file=sys.stderr)
        return 2
    try:
        notices = NoticeRound(config, directories, db.users, db.keyed, SendLimits(data_key))
        now = time.time()
        with progress_bar(_COMMAND, "reading the directories") as update:
            report = notices.plan(
                now, None if update is None else lambda d, n: update(n, f"{d}: {n} users")
            )
        _print_plan(notices, report, dry_run=args.dry_run)
        if not args.dry_run:
            from pwreset.server.notify import Notifier, NotifyError

            try:
                notifier = Notifier.from_config(config)
            except NotifyError as exc:
                raise ConfigError([Problem(file, "email", str(exc))]) from None
            notices.send(report, notifier, db.audit, now)
            print(f"{report.sent} sent, {report.failed} not sent (see the log and the audit)")
    finally:
        db.close()
    return 1 if report.unreachable or report.failed else 0


def _print_plan(notices: NoticeRound, report: NoticeReport, *, dry_run: bool) -> None:
    for domain in report.unreachable:
        print(f"{_COMMAND}: domain {domain} did not answer: no notices for it", file=sys.stderr)
    if not report.due:
        print("no expiry notice is due")
        return
    verb = "would be sent" if dry_run else "due"
    print(f"{len(report.due)} expiry notice(s) {verb}:")
    for notice in report.due:
        expires = datetime.fromtimestamp(notice.expires).strftime("%Y-%m-%d %H:%M")
        to = ", ".join(notices.destinations(notice)) or "(no address)"
        print(f"  {notice.domain}\\{notice.username}: {notice.threshold}-day notice, "
              f"{notice.days_left} day(s) left (expires {expires}), in {notice.language!r}, "
              f"to {to}")  # fmt: skip
