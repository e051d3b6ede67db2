"""`pwreset build`: compile the themes into static sites, one per virtual directory."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from pwreset.cli.options import add_config_option, config_of


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "build", help="build site/<vdir>/ for every configured site"
    )
    add_config_option(parser)
    parser.add_argument(
        "--site", action="append", metavar="NAME", help="build only this site (repeatable)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pwreset.builder import BuildError, build_sites

    config = config_of(args)
    try:
        built = build_sites(config, only=args.site)
    except BuildError as exc:
        print(f"pwreset build: {exc}", file=sys.stderr)
        return 1
    for site in built:
        print(f"built {site.vdir} -> {site.path}")
    return 0
