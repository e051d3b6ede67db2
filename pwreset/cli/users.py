"""`pwreset users list|show|export|delete|unlock|purge`: the Data Console's Users tab."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import Any

from pwreset.cli import unlock as unlock_command
from pwreset.cli.options import add_config_option, config_of
from pwreset.config.schema import Config
from pwreset.protocol.printable import escape
from pwreset.server.storage import AuditEvent, StorageError
from pwreset.server.storage.console import (
    EXIT_PROBLEM,
    EXIT_USAGE,
    add_filter_options,
    chosen_columns,
    grid,
    open_owner,
    open_view,
    reports_errors,
    select,
)
from pwreset.server.storage.exports import FORMATS, write_export
from pwreset.server.storage.purge import UserExists, purge_missing
from pwreset.server.storage.query import (
    AUDIT_COLUMNS,
    USER_COLUMNS,
    FilterError,
    audit_row,
    display,
)

_SHORTCUTS = {"user": "username", "domain": "domain", "email": "email"}


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "users", help="list, show, export, delete, unlock or purge enrolled users"
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    listing = actions.add_parser("list", help="the users matching the filters, as a table")
    _common(listing)
    listing.add_argument("--limit", type=int, default=0, metavar="N", help="show at most N rows")
    listing.set_defaults(run=_list)

    export = actions.add_parser("export", help="write the matching users to a file")
    export.add_argument("file", type=Path, metavar="FILE", help=".csv, .json, .html or .xlsx")
    export.add_argument("--format", choices=FORMATS)
    _common(export)
    export.set_defaults(run=_export)

    show = actions.add_parser("show", help="one user's record and recent audit events")
    show.add_argument("user", metavar="USER", help="user name, or DOMAIN\\user")
    show.add_argument("--domain", help="the domain, when the name alone is ambiguous")
    add_config_option(show)
    show.set_defaults(run=_show)

    delete = actions.add_parser(
        "delete", help="delete the matching users (their audit history stays); server stopped"
    )
    _common(delete)
    delete.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    delete.set_defaults(run=_delete)

    unlock = actions.add_parser(
        "unlock", help="lift pwreset's lockout of one user (the help desk; server may run)"
    )
    unlock.add_argument("domain", metavar="DOMAIN", help="the domain, as configured")
    unlock.add_argument("user", metavar="USER", help="the user name")
    add_config_option(unlock)
    unlock.set_defaults(run=reports_errors(unlock_command.run))

    purge = actions.add_parser(
        "purge", help="remove users missing from the directory for a week; server stopped"
    )
    add_config_option(purge)
    purge.set_defaults(run=_purge)


def _common(parser: argparse.ArgumentParser) -> None:
    add_config_option(parser)
    add_filter_options(parser, _SHORTCUTS, date_column_choice=True)
    hidden = ", ".join(c.name for c in USER_COLUMNS if not c.shown)
    parser.add_argument(
        "--columns", metavar="A,B,...", help=f"columns to show or export (hidden: {hidden})"
    )


def _all_rows(config: Config) -> list[dict[str, Any]]:
    db = open_view(config)
    try:
        return list(db.users.rows())
    finally:
        db.close()


@reports_errors
def _list(args: argparse.Namespace) -> int:
    config = config_of(args)
    columns = chosen_columns(USER_COLUMNS, args.columns)
    everyone = _all_rows(config)
    rows = select(everyone, USER_COLUMNS, args, "last_enroll")
    shown = rows[: args.limit] if args.limit > 0 else rows
    sys.stdout.write(grid(columns, shown))
    print(f"{len(shown)} shown, {len(rows)} matching, {len(everyone)} users in all")
    return 0


@reports_errors
def _export(args: argparse.Namespace) -> int:
    config = config_of(args)
    columns = chosen_columns(USER_COLUMNS, args.columns)
    rows = select(_all_rows(config), USER_COLUMNS, args, "last_enroll")
    fmt = write_export(args.file, columns, rows, fmt=args.format, title="pwreset users")
    print(f"{args.file}: {len(rows)} users written as {fmt}")
    return 0


def _split_name(text: str, domain: str | None) -> tuple[str | None, str]:
    if "\\" in text and domain is None:
        left, _, right = text.partition("\\")
        return left, right
    return domain, text


@reports_errors
def _show(args: argparse.Namespace) -> int:
    config = config_of(args)
    domain, name = _split_name(args.user, args.domain)
    matches = [
        row
        for row in _all_rows(config)
        if row["username"].casefold() == name.casefold()
        and (domain is None or row["domain"].casefold() == domain.casefold())
    ]
    if not matches:
        where = f" in domain {domain}" if domain else ""
        print(f"pwreset: no enrolled user {name!r}{where}", file=sys.stderr)
        return EXIT_PROBLEM
    db = open_view(config)
    for row in matches:
        for col in USER_COLUMNS:
            print(f"{col.title + ':':<16}{escape(display(row.get(col.name), col.kind))}")
        events = [
            e
            for e in db.audit.query()
            if e.user.casefold() == row["username"].casefold()
            and e.domain.casefold() == row["domain"].casefold()
        ][-10:]
        print(f"last {len(events)} audit events:")
        audit_rows = [audit_row(e) for e in events]
        sys.stdout.write(grid([c for c in AUDIT_COLUMNS if c.shown], audit_rows))
        print()
    return 0


def _confirm(question: str, assume_yes: bool) -> bool:
    if assume_yes:
        return True
    if not sys.stdin.isatty():
        raise FilterError("refusing to delete without confirmation: add --yes")
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")


@reports_errors
def _delete(args: argparse.Namespace) -> int:
    config = config_of(args)
    if not (args.where or args.date or args.start or args.stop) and not any(
        value is not None for key, value in vars(args).items() if key.startswith("filter_")
    ):
        print("pwreset: users delete needs at least one filter (e.g. --user NAME)", file=sys.stderr)
        return EXIT_USAGE
    with open_owner(config) as db:
        rows = select(list(db.users.rows()), USER_COLUMNS, args, "last_enroll")
        if not rows:
            print("no user matches; nothing deleted")
            return 0
        sys.stdout.write(grid([c for c in USER_COLUMNS if c.shown], rows))
        if not _confirm(f"Delete these {len(rows)} users? Their audit history stays.", args.yes):
            print("nothing deleted")
            return 0
        admin = f"console:{getpass.getuser()}"
        for row in rows:
            if db.users.delete(row["domain"], row["username"]):
                db.audit.append(
                    AuditEvent(
                        "success",
                        "admin",
                        row["username"],
                        row["domain"],
                        "user deleted by an administrator (pwreset users delete)",
                        web_user=admin,
                    )
                )
    print(f"{len(rows)} users deleted")
    return 0


def directory_check(config: Config) -> UserExists:
    """`exists(domain, username)` through the configured directory adapters, opened lazily.
    A domain no longer configured answers None (cannot tell), so its users are kept."""
    from pwreset.server.directory import DirectoryError, open_directory

    opened: dict[int, Any] = {}

    def exists(domain: str, username: str) -> bool | None:
        index = next((i for i, d in enumerate(config.domains) if d.matches(domain)), None)
        if index is None:
            return None
        if index not in opened:
            opened[index] = open_directory(config, index)
        directory = opened[index]
        check = getattr(directory, "user_exists", None)
        if check is None:
            raise StorageError(
                f"the {config.domains[index].kind} directory adapter of domain "
                f"{config.domains[index].name} cannot check whether users exist "
                "(no user_exists); the purge is not supported by this adapter yet"
            )
        try:
            return bool(check(username))
        except DirectoryError as exc:
            raise StorageError(
                f"domain {config.domains[index].name}: cannot check users ({exc.code}); "
                "nothing more was purged"
            ) from None

    return exists


@reports_errors
def _purge(args: argparse.Namespace) -> int:
    config = config_of(args)
    with open_owner(config) as db:
        report = purge_missing(
            db.users,
            db.audit,
            directory_check(config),
            grace_days=config.storage.purge_after_days,
            by=f"console:{getpass.getuser()}",
        )
    print(
        f"{report.checked} users checked: {len(report.marked)} newly missing, "
        f"{len(report.unmarked)} found again, {len(report.removed)} removed, "
        f"{report.unknown} in domains no longer configured"
    )
    for domain, username in report.removed:
        print(escape(f"removed {domain}\\{username}"))
    return 0
