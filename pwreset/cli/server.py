"""`pwreset server`: the reset backend on UDP."""

from __future__ import annotations

import argparse
import asyncio
import logging
from typing import Any

from pwreset.cli.log_format import log_handler
from pwreset.cli.options import add_config_option, add_log_format_option, config_of


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "server", help="run the reset backend (UDP, default port 5100)"
    )
    add_config_option(parser)
    add_log_format_option(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pwreset.server.runner import serve

    config = config_of(args)
    if config.server.log_file:
        handler = logging.FileHandler(config.path(config.server.log_file), encoding="utf-8")
        logging.getLogger().addHandler(log_handler(handler, args.log_format))
    asyncio.run(serve(config))
    return 0
