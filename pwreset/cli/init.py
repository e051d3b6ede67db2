"""`pwreset init DIR`: a new instance folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pwreset.instance import InstanceExistsError, create_instance, create_relay_key


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "init", help="create an instance folder: pwreset.toml, keys, custom/, data/"
    )
    parser.add_argument("folder", type=Path)
    parser.add_argument(
        "--relay-key",
        action="store_true",
        help="only add keys/relay.key to an existing instance (made before relay keys)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        if args.relay_key:
            path = create_relay_key(args.folder)
            print(f"wrote {path}")
            print(
                'next: set relay_key_file = "keys/relay.key" in [server] and [web] of '
                f"{args.folder / 'pwreset.toml'}, and copy the file to every relay host (mode 0600)"
            )
            return 0
        written = create_instance(args.folder)
    except InstanceExistsError as exc:
        print(f"pwreset init: {exc}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path}")
    print(f"next: edit {args.folder / 'pwreset.toml'} (add [[domains]]), then `pwreset build`")
    return 0
