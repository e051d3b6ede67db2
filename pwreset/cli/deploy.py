"""`pwreset deploy systemd|nginx|caddy`: the operator's kit for this instance, printed or
written to a folder (docs/deploy.md)."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import Any

from pwreset.cli.options import add_config_option, config_of


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "deploy", help="write systemd units or an nginx/Caddy configuration for this instance"
    )
    kinds = parser.add_subparsers(dest="kind", required=True, metavar="KIND")
    systemd = kinds.add_parser(
        "systemd", help="hardened units for `pwreset server` and `pwreset web`"
    )
    _add_common_options(systemd)
    systemd.add_argument(
        "--user", default="pwreset", help="the system account the services run as (pwreset)"
    )
    systemd.add_argument(
        "--executable",
        type=Path,
        help="the pwreset command (default: the one beside this Python, else on PATH)",
    )
    for kind, without_cert in (("nginx", "certbot's paths for the name"),
                               ("caddy", "Caddy obtains one")):  # fmt: skip
        proxy = kinds.add_parser(
            kind, help=f"{kind} serving the built site and proxying the API to pwreset web"
        )
        _add_common_options(proxy)
        proxy.add_argument(
            "--server-name",
            help="the host name users open (default: the host of [web] public_url)",
        )
        proxy.add_argument("--https-port", type=int, default=443)
        proxy.add_argument("--http-port", type=int, default=80, help="redirected to HTTPS")
        proxy.add_argument("--cert", type=Path, help=f"certificate chain PEM ({without_cert})")
        proxy.add_argument("--key", type=Path, help="its private key PEM")


def _add_common_options(parser: argparse.ArgumentParser) -> None:
    add_config_option(parser)
    parser.add_argument("--name", default="pwreset", help="file and unit name prefix (pwreset)")
    parser.add_argument(
        "-o", "--output", type=Path, help="write the files to this folder (default: print)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pwreset.deploy import DeployError, KitFile, ProxyOptions, proxy_config, systemd_units
    from pwreset.deploy.kit import proxy_warnings

    config = config_of(args)
    notes: list[str] = []
    try:
        files: list[KitFile]
        if args.kind == "systemd":
            executable = args.executable or _pwreset_executable()
            files = systemd_units(config, name=args.name, user=args.user, executable=executable)
            notes.append(_account_note(config, args.user))
        else:
            server_name = args.server_name or _public_host(config.web.public_url)
            if not server_name:
                raise DeployError("give --server-name, or set [web] public_url")
            options = ProxyOptions(
                server_name=server_name,
                https_port=args.https_port,
                http_port=args.http_port,
                cert_file=args.cert,
                key_file=args.key,
            )
            files = [proxy_config(config, args.kind, options, name=args.name)]
            notes += proxy_warnings(config)
    except DeployError as exc:
        print(f"pwreset deploy: {exc}", file=sys.stderr)
        return 2
    if args.output is None:
        for file in files:
            sys.stdout.write(file.text)
    else:
        args.output.mkdir(parents=True, exist_ok=True)
        for file in files:
            (args.output / file.name).write_text(file.text, encoding="utf-8")
            print(f"wrote {args.output / file.name} (install it in {file.install_dir}/)")
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    return 0


def _pwreset_executable() -> Path:
    """The `pwreset` command of this installation: a virtual environment's, where it is."""
    beside = Path(sys.executable).parent / "pwreset"
    if beside.is_file():
        return beside
    found = shutil.which("pwreset")
    if found is None:
        from pwreset.deploy import DeployError

        raise DeployError("no pwreset command found: give --executable")
    return Path(found).absolute()


def _public_host(public_url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(public_url).hostname or ""


def _account_note(config: Any, user: str) -> str:
    base = config.base_dir
    return (
        f"the units run as {user}: create it (useradd --system --home-dir {base} "
        f"--shell /usr/sbin/nologin {user}) and give it the keys and data "
        f"(chown -R {user}: {base / 'keys'} {config.path(config.server.data_dir)})"
    )
