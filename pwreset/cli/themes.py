"""`pwreset themes`: the themes an instance can use, and the upgrade check of its overrides."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from pwreset.cli.options import add_config_option, config_of


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "themes", help="list themes; check overrides after an upgrade"
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="themes and their options")
    check = actions.add_parser(
        "check", help="overrides whose stock original changed since the last build (with diffs)"
    )
    accept = actions.add_parser(
        "accept", help="record the current stock originals as merged into the overrides"
    )
    accept.add_argument(
        "overrides", nargs="*", metavar="OVERRIDE", help="only these (as `check` names them)"
    )
    for each in (listing, check, accept):
        add_config_option(each)
    listing.set_defaults(run=_list)
    check.set_defaults(run=_check)
    accept.set_defaults(run=_accept)


def _list(args: argparse.Namespace) -> int:
    from pathlib import Path

    from pwreset.builder import BuildError
    from pwreset.builder.themes import STOCK_THEMES, option_values, resolve_chain

    config = config_of(args)
    search = [config.path(Path("themes")), STOCK_THEMES]
    names = sorted({p.parent.name for folder in search for p in folder.glob("*/theme.toml")})
    for name in names:
        try:
            chain = resolve_chain(name, search)
        except BuildError as exc:
            print(f"{name}: {exc}", file=sys.stderr)
            continue
        where = "stock" if chain[0].root.parent == STOCK_THEMES else str(chain[0].root)
        extends = f", extends {chain[0].extends}" if chain[0].extends else ""
        print(f"{name} ({where}{extends}): {chain[0].description}")
        for option in option_values(chain).values():
            print(f"  {option.name} = {option.default!r}  {option.help}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from pwreset.builder import BuildError, upgrade_changes

    try:
        changed = upgrade_changes(config_of(args))
    except BuildError as exc:
        print(f"pwreset themes: {exc}", file=sys.stderr)
        return 2
    if not changed:
        print("pwreset themes: every override matches the stock files it was written against")
        return 0
    for change in changed:
        print(f"{change.describe()}:\n{change.diff}")
    print(
        f"{len(changed)} override(s) to review; once merged, run `pwreset themes accept`",
        file=sys.stderr,
    )
    return 1


def _accept(args: argparse.Namespace) -> int:
    from pwreset.builder import BuildError, accept_upgrade

    try:
        accepted = accept_upgrade(config_of(args), args.overrides)
    except BuildError as exc:
        print(f"pwreset themes: {exc}", file=sys.stderr)
        return 2
    print(f"pwreset themes: recorded the current stock originals of {len(accepted)} override(s)")
    return 0
