"""`pwreset build`: compile the themes into static sites, one per virtual directory."""

from __future__ import annotations

import argparse
import sys
import threading
from typing import TYPE_CHECKING, Any

from pwreset.cli.options import add_config_option, config_of

if TYPE_CHECKING:
    from pwreset.builder import BuildOptions, BuiltSite
    from pwreset.builder.overrides import Change


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "build", help="build site/<vdir>/ for every configured site"
    )
    add_config_option(parser)
    parser.add_argument(
        "--site", action="append", metavar="NAME", help="build only this site (repeatable)"
    )
    parser.add_argument(
        "--gallery", action="store_true", help="also build gallery/: every page in every state"
    )
    parser.add_argument(
        "--force", action="store_true", help="rebuild sites whose inputs did not change"
    )
    parser.add_argument(
        "--watch", action="store_true", help="rebuild whenever a template, file or text changes"
    )
    parser.add_argument(
        "--explain",
        nargs=2,
        metavar=("SITE", "NAME"),
        help="show which layer's file wins for a template, static file or message id",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pwreset.builder import BuildError, BuildOptions, run_build

    if args.explain:
        return _explain(args)
    options = BuildOptions(gallery=args.gallery)
    if args.watch:
        return _watch(args, options)
    try:
        result = run_build(config_of(args), only=args.site, options=options, force=args.force)
    except BuildError as exc:
        print(f"pwreset build: {exc}", file=sys.stderr)
        return 1
    _report(result.sites)
    _warn_about_upgrades(result.upgrades)
    return 0


def _report(built: list[BuiltSite]) -> None:
    for site in built:
        state = "built" if site.rebuilt else "up to date"
        print(f"{state}: {site.vdir} -> {site.path}", flush=True)


def _warn_about_upgrades(changed: list[Change]) -> None:
    """Overrides of every configured site, also those --site left out."""
    if not changed:
        return
    print(
        f"pwreset build: warning: {len(changed)} override(s) hide stock files that changed"
        " since they were written:",
        file=sys.stderr,
    )
    for change in changed:
        print(f"  {change.describe()}", file=sys.stderr)
    print(
        "  see the changes with `pwreset themes check`; after merging them into your"
        " overrides, run `pwreset themes accept`",
        file=sys.stderr,
    )


def _explain(args: argparse.Namespace) -> int:
    from pwreset.builder import BuildError, Layers

    config = config_of(args)
    vdir, name = args.explain
    if vdir not in config.sites:
        print(
            f"pwreset build: no site {vdir!r} (sites: {', '.join(config.sites)})", file=sys.stderr
        )
        return 2
    site = config.sites[vdir]
    try:
        layers = Layers.for_site(config, vdir)
        text, found = layers.explain(name, list(dict.fromkeys([site.language, *site.languages])))
    except BuildError as exc:
        print(f"pwreset build: {exc}", file=sys.stderr)
        return 1
    print(text)
    return 0 if found else 1


def _watch(args: argparse.Namespace, options: BuildOptions) -> int:
    from pwreset.builder.watch import watch

    stop = threading.Event()
    print("pwreset build: watching for changes (Ctrl-C stops)", flush=True)
    try:
        watch(
            args.config,
            options,
            only=args.site,
            on_build=_report,
            on_error=lambda exc: print(f"pwreset build: {exc}", file=sys.stderr, flush=True),
            stop=stop,
        )
    except KeyboardInterrupt:
        stop.set()
    return 0
