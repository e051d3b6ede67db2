"""`pwreset console`: the web console under uvicorn, on `[console] listen`."""

from __future__ import annotations

import argparse
from typing import Any

from pwreset.cli.options import add_config_option, add_log_format_option, config_of
from pwreset.cli.web import serve
from pwreset.console.command import reports_errors


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "console", help="run the admin console in the browser (internal side only)"
    )
    add_config_option(parser)
    add_log_format_option(parser)
    parser.set_defaults(run=reports_errors(run))


def run(args: argparse.Namespace) -> int:
    from pwreset.console.web.app import create_console_app

    config = config_of(args)
    console = config.console
    app = create_console_app(config)
    serve(
        app, config, console.listen, (console.tls_cert_file, console.tls_key_file), args.log_format
    )
    return 0
