"""`pwreset web`: the relay, under uvicorn."""

from __future__ import annotations

import argparse
from typing import Any

from pwreset.cli.options import add_config_option, add_log_format_option, config_of
from pwreset.config.schema import parse_address


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "web", help="run the relay (and, with --serve-site, the built pages)"
    )
    add_config_option(parser)
    add_log_format_option(parser)
    parser.add_argument("--listen", help="host:port (default: [web].listen)")
    parser.add_argument(
        "--serve-site",
        action="store_true",
        default=None,
        help="also serve the built site/ folder (single-host installs)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from pwreset.api import RelaySettings, create_app

    config = config_of(args)
    settings = RelaySettings.from_config(config, serve_site=args.serve_site)
    host, port = parse_address(args.listen or config.web.listen)
    web = config.web
    cert = str(config.path(web.tls_cert_file)) if web.tls_cert_file else None
    key = str(config.path(web.tls_key_file)) if web.tls_key_file else None
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_level="info",
        access_log=True,
        # JSON: uvicorn's loggers (the access log too) go through pwreset's handler, so
        # every line is one JSON object with the request id; text keeps uvicorn's format.
        log_config=None if args.log_format == "json" else uvicorn.config.LOGGING_CONFIG,
        ssl_certfile=cert,
        ssl_keyfile=key,
        # uvicorn would believe X-Forwarded-For/-Proto from any loopback peer; the relay
        # decides itself, from [web] trusted_proxies (pwreset.api.client_ip).
        proxy_headers=False,
    )
    return 0
