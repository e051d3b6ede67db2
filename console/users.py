"""`pwreset users list|show|export|delete|unlock|purge`: the Data Console's Users tab."""

from __future__ import annotations

import argparse
import getpass
import math
import sys
import time
from typing import Any

from pwreset.cli.options import config_of
from pwreset.config.flow_settings import SecuritySettings
from pwreset.config.schema import Config
from pwreset.console import lockout
from pwreset.console.command import (
    EXIT_PROBLEM,
    EXIT_USAGE,
    ConsoleError,
    add_action,
    command_group,
    open_owner,
    open_view,
)
from pwreset.console.table import Rows, Table, add_export, add_list, grid
from pwreset.protocol.printable import escape
from pwreset.server.flows.lockout import Strikes, locked_until
from pwreset.server.storage import AuditEvent
from pwreset.server.storage.purge import UserExists, purge_missing
from pwreset.server.storage.query import (
    AUDIT_COLUMNS,
    USER_COLUMNS,
    FilterError,
    audit_row,
    display,
)

# The `locked_until` of a lockout that does not run out (apr checklist 60).
UNTIL_REENROLLED = "re-enrolment"


def all_rows(config: Config) -> Rows:
    db = open_view(config)
    try:
        rows = list(db.users.rows())
    finally:
        db.close()
    now = time.time()
    # Answers kept from before questions were switched off on every site count no more.
    questions = config.factors is None or any(
        config.factors.questions_on(vdir) for vdir in config.sites
    )
    for row in rows:
        _add_lockout(row, config.security, now)
        if not questions:
            row["factors"] = tuple(kind for kind in row["factors"] if kind != "questions")
    return rows


def _add_lockout(row: dict[str, Any], security: SecuritySettings, now: float) -> None:
    """pwreset's lockout as it stands now, not as last written (it runs out
    `lockout_minutes` after the last wrong answer): `locked_out` and `locked_until`."""
    strikes = Strikes(row["wrong_answers"], row["last_failure"])
    until = locked_until(strikes, security, now)
    row["locked_out"] = until is not None
    if until is None:
        row["locked_until"] = ""
    else:
        row["locked_until"] = UNTIL_REENROLLED if math.isinf(until) else display(until, "time")


def _matching(config: Config, args: argparse.Namespace) -> Rows:
    return USERS.select(all_rows(config), args)


_HIDDEN = ", ".join(c.name for c in USER_COLUMNS if not c.shown)
USERS = Table(
    noun="users",
    title="pwreset users",
    columns=USER_COLUMNS,
    shortcuts={"user": "username", "domain": "domain", "email": "email"},
    date_column="last_enroll",
    date_column_choice=True,
    columns_help=f"columns to show or export (hidden: {_HIDDEN})",
    load=_matching,
)


def register(sub: Any) -> None:
    actions = command_group(
        sub, "users", "list, show, export, delete, unlock or purge enrolled users"
    )
    add_list(actions, USERS, _list, "show at most N rows")
    add_export(actions, USERS)

    show = add_action(actions, "show", "one user's record and recent audit events", _show)
    show.add_argument("user", metavar="USER", help="user name, or DOMAIN\\user")
    show.add_argument("--domain", help="the domain, when the name alone is ambiguous")

    delete = add_action(
        actions,
        "delete",
        "delete the matching users (their audit history stays); server stopped",
        _delete,
    )
    USERS.add_options(delete)
    delete.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    unlock = add_action(
        actions,
        "unlock",
        "lift pwreset's lockout of one user (the help desk; server may run)",
        lockout.run,
    )
    unlock.add_argument("domain", metavar="DOMAIN", help="the domain, as configured")
    unlock.add_argument("user", metavar="USER", help="the user name")

    add_action(
        actions,
        "purge",
        "remove users missing from the directory for a week; server stopped",
        _purge,
    )


def _list(args: argparse.Namespace) -> int:
    config = config_of(args)
    columns = USERS.chosen_columns(args)
    everyone = all_rows(config)
    rows = USERS.select(everyone, args)
    shown = rows[: args.limit] if args.limit > 0 else rows
    sys.stdout.write(grid(columns, shown))
    print(f"{len(shown)} shown, {len(rows)} matching, {len(everyone)} users in all")
    return 0


def _split_name(text: str, domain: str | None) -> tuple[str | None, str]:
    if "\\" in text and domain is None:
        left, _, right = text.partition("\\")
        return left, right
    return domain, text


def _show(args: argparse.Namespace) -> int:
    config = config_of(args)
    domain, name = _split_name(args.user, args.domain)
    matches = [
        row
        for row in all_rows(config)
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


def _delete(args: argparse.Namespace) -> int:
    config = config_of(args)
    if not (args.where or args.date or args.start or args.stop) and not any(
        value is not None for key, value in vars(args).items() if key.startswith("filter_")
    ):
        print("pwreset: users delete needs at least one filter (e.g. --user NAME)", file=sys.stderr)
        return EXIT_USAGE
    with open_owner(config) as db:
        rows = USERS.select(list(db.users.rows()), args)
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
            raise ConsoleError(
                f"the {config.domains[index].kind} directory adapter of domain "
                f"{config.domains[index].name} cannot check whether users exist "
                "(no user_exists); the purge is not supported by this adapter yet"
            )
        try:
            return bool(check(username))
        except DirectoryError as exc:
            raise ConsoleError(
                f"domain {config.domains[index].name}: cannot check users ({exc.code}); "
                "nothing more was purged"
            ) from None

    return exists


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
