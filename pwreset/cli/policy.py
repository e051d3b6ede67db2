"""`pwreset policy`: import the breached-password list, and try the password rules."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pwreset.cli.options import add_config_option, config_of
from pwreset.cli.progress import progress_bar
from pwreset.config.password_settings import MAX_BREACHED_COUNT

Progress = Callable[[int, int], None]
# Ranges between two updates of the bar: a million updates would cost seconds.
_BAR_STEP = 1024


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "policy", help="import the breached-password list; try the password rules"
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    importing = actions.add_parser(
        "import",
        help="load a Pwned Passwords SHA-1 download into the file [password_policy] "
        "breached_file names",
    )
    importing.add_argument(
        "source",
        type=Path,
        metavar="SOURCE",
        help="the downloader's folder of range files (00000 ... FFFFF), or one file of "
        "SHA1:COUNT lines ordered by hash",
    )
    importing.add_argument(
        "out", type=Path, metavar="OUT", help="the file to write (replaced only on success)"
    )
    importing.add_argument(
        "--min-count",
        type=int,
        default=1,
        metavar="N",
        help="keep only hashes seen in at least N breaches (default 1: all)",
    )
    importing.set_defaults(run=_import)
    check = actions.add_parser(
        "check", help="which rules a password breaks (asked for without echo, never shown)"
    )
    add_config_option(check)
    check.add_argument("--username", default="", help="check as this account name")
    check.add_argument("--display-name", default="", help="and this display name")
    check.set_defaults(run=_check)


def _import(args: argparse.Namespace) -> int:
    from pwreset.server.passwords import SourceError, read_ranges, write_breached_file
    from pwreset.server.passwords.breached_file import RANGE_COUNT
    from pwreset.server.storage.errors import StorageFullError

    if not 1 <= args.min_count <= MAX_BREACHED_COUNT:
        return _fail(f"--min-count must be 1 to {MAX_BREACHED_COUNT}")
    if not args.out.parent.resolve().is_dir():
        return _fail(f"{args.out.parent}: no such folder")
    try:
        with _progress_bar(RANGE_COUNT) as progress:
            summary = write_breached_file(
                args.out, read_ranges(args.source), args.min_count, progress
            )
    except (SourceError, StorageFullError) as exc:
        return _fail(f"{exc} ({args.out} is unchanged)")
    except OSError as exc:
        return _fail(f"{exc.filename or args.out}: {exc.strerror} ({args.out} is unchanged)")
    left_out = f", {summary.skipped:,} with a count below {args.min_count} left out"
    print(
        f"{args.out}: {summary.entries:,} hashes from {summary.ranges:,} ranges"
        f"{left_out if summary.skipped else ''}, in {summary.seconds:.1f} s"
    )
    if summary.ranges < RANGE_COUNT:
        print(
            f"pwreset policy import: {summary.ranges:,} of {RANGE_COUNT:,} ranges: a partial "
            "download (fine for a test, not for production)",
            file=sys.stderr,
        )
    return 0


@contextmanager
def _progress_bar(total: int) -> Iterator[Progress | None]:
    """The import's bar, moved every _BAR_STEP ranges."""
    with progress_bar("pwreset policy import", "importing ranges", total) as update:
        if update is None:
            yield None
            return

        def advance(done: int, total: int) -> None:
            if done % _BAR_STEP == 0 or done == total:
                update(done, "importing ranges")

        yield advance


def _check(args: argparse.Namespace) -> int:
    from pwreset.server.passwords import (
        BreachedFileError,
        BreachedList,
        PasswordPolicy,
        UserContext,
    )

    config = config_of(args)
    settings = config.password_policy
    breached = None
    if settings.breached_file is not None:
        try:
            breached = BreachedList(config.path(settings.breached_file))
        except BreachedFileError as exc:
            return _fail(str(exc))
    policy = PasswordPolicy.build(settings, breached=breached)
    broken = policy.check(_read_password(), UserContext(args.username, args.display_name))
    for rule in policy.rules:
        params = [f"{key}={value}" for key, value in rule.params.items()]
        state = "BROKEN" if rule in broken else "ok"
        print(f"  {state:<7}" + " ".join([rule.id, *params, f"({rule.origin})"]))
    if breached is not None and breached.min_count > settings.breached_min_count:
        print(f"  (the breached list holds only hashes seen {breached.min_count}+ times)")
    print("The directory's own rules apply on top when the password is set.")
    print("Refused." if broken else "Accepted by these rules.")
    return 1 if broken else 0


def _read_password() -> str:
    """From the terminal without echo; from a pipe, its first line (for scripts)."""
    if sys.stdin.isatty():
        return getpass.getpass("Password to check (not shown): ")
    return sys.stdin.readline().rstrip("\r\n")


def _fail(message: str) -> int:
    print(f"pwreset policy: {message}", file=sys.stderr)
    return 2
