"""`pwreset web`: the relay, under uvicorn."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pwreset.cli.options import add_config_option, add_log_format_option, config_of
from pwreset.config.schema import Config, parse_address


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
    from pwreset.api import RelaySettings, create_app

    config = config_of(args)
    settings = RelaySettings.from_config(config, serve_site=args.serve_site)
    web = config.web
    serve(
        create_app(settings),
        config,
        args.listen or web.listen,
        (web.tls_cert_file, web.tls_key_file),
        args.log_format,
    )
    return 0


def serve(
    app: Any,
    config: Config,
    listen: str,
    tls: tuple[Path | None, Path | None],
    log_format: str,
) -> None:
    """Run `app` under uvicorn on `listen`, over HTTPS when given the PEM pair `tls`
    (`pwreset web`, `pwreset console`)."""
    import uvicorn

    host, port = parse_address(listen)
    cert, key = (str(config.path(path)) if path else None for path in tls)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="info",
        access_log=True,
        # JSON: uvicorn's loggers (the access log too) go through pwreset's handler, so
        # every line is one JSON object with the request id; text keeps uvicorn's format.
        log_config=None if log_format == "json" else uvicorn.config.LOGGING_CONFIG,
        ssl_certfile=cert,
        ssl_keyfile=key,
        # uvicorn would believe X-Forwarded-For/-Proto from any loopback peer; the relay
        # decides from [web] trusted_proxies (pwreset.api.client_ip), the console is never
        # behind a proxy.
        proxy_headers=False,
    )
