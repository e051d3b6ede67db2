"""`pwreset init DIR`: a new instance folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pwreset.instance import InstanceExistsError, create_instance


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "init", help="create an instance folder: pwreset.toml, keys, custom/, data/"
    )
    parser.add_argument("folder", type=Path)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        written = create_instance(args.folder)
    except InstanceExistsError as exc:
        print(f"pwreset init: {exc}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path}")
    print(f"next: edit {args.folder / 'pwreset.toml'} (add [[domains]]), then `pwreset build`")
    return 0
