"""`pwreset build`: compile the themes into static sites, one per virtual directory."""

from __future__ import annotations

import argparse
import sys
import threading
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
    from pwreset.builder import BuildError, build_sites
    from pwreset.builder.render_plan import BuildOptions

    if args.explain:
        return _explain(args)
    options = BuildOptions(gallery=args.gallery)
    if args.watch:
        return _watch(args, options)
    config = config_of(args)
    try:
        built = build_sites(config, only=args.site, options=options, force=args.force)
        _report(built)
        # Checks every configured site, also those --site left out.
        _warn_about_upgrades(config, options)
    except BuildError as exc:
        print(f"pwreset build: {exc}", file=sys.stderr)
        return 1
    return 0


def _report(built: list[Any]) -> None:
    for site in built:
        state = "built" if site.rebuilt else "up to date"
        print(f"{state}: {site.vdir} -> {site.path}", flush=True)


def _warn_about_upgrades(config: Any, options: Any) -> None:
    from pwreset.builder import upgrade_changes

    changed = upgrade_changes(config, options)
    if changed:
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
    from pwreset.builder.explain import explain

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
        text, found = explain(layers, name, list(dict.fromkeys([site.language, *site.languages])))
    except BuildError as exc:
        print(f"pwreset build: {exc}", file=sys.stderr)
        return 1
    print(text)
    return 0 if found else 1


def _watch(args: argparse.Namespace, options: Any) -> int:
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
