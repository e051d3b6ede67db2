"""`pwreset console`: the web console under uvicorn, on `[console] listen`."""

from __future__ import annotations

import argparse
from typing import Any

from pwreset.cli.options import add_config_option, add_log_format_option, config_of
from pwreset.config.schema import parse_address
from pwreset.console.command import reports_errors


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "console", help="run the admin console in the browser (internal side only)"
    )
    add_config_option(parser)
    add_log_format_option(parser)
    parser.set_defaults(run=reports_errors(run))


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from pwreset.console.web.app import create_console_app

    config = config_of(args)
    settings = config.console
    host, port = parse_address(settings.listen)
    cert = str(config.path(settings.tls_cert_file)) if settings.tls_cert_file else None
    key = str(config.path(settings.tls_key_file)) if settings.tls_key_file else None
    uvicorn.run(
        create_console_app(config),
        host=host,
        port=port,
        log_level="info",
        access_log=True,
        log_config=None if args.log_format == "json" else uvicorn.config.LOGGING_CONFIG,
        ssl_certfile=cert,
        ssl_keyfile=key,
        proxy_headers=False,  # the console is reached directly, never through a proxy
    )
    return 0
