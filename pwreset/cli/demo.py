"""`pwreset demo`: the whole stack on this machine against a throwaway OpenLDAP directory.

It starts slapd with sample users in a temporary folder, writes an instance, builds the
site, runs the backend and the relay on 127.0.0.1, prints the URL and the sample
credentials, and on Ctrl-C stops everything and removes the folder. The directory comes
from the pwreset-lab distribution (lab/ in the repository), which is not part of pwreset.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any

_PASSWORD_ENV = "PWRESET_DEMO_BIND_PASSWORD"
_NO_LAB = """pwreset demo: the throwaway directory comes from the pwreset-lab package, which is not
installed. In a pwreset checkout, run ./scripts/demo.sh, or install it into this environment:
  {python} -m pip install ./lab"""


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "demo", help="run everything locally against a throwaway OpenLDAP directory"
    )
    parser.add_argument("--port", type=int, default=8080, help="HTTP port (default 8080)")
    parser.add_argument("--dir", type=Path, help="keep the demo files in this folder")
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        from pwreset_lab import LabError, start_slapd
    except ModuleNotFoundError as exc:
        if exc.name != "pwreset_lab":
            raise
        print(_NO_LAB.format(python=sys.executable), file=sys.stderr)
        return 1
    root = args.dir or Path(tempfile.mkdtemp(prefix="pwreset-demo-"))
    root.mkdir(parents=True, exist_ok=True)
    print(f"pwreset demo: starting a throwaway OpenLDAP directory in {root} ...", flush=True)
    try:
        lab = start_slapd(root / "slapd")
    except LabError as exc:
        print(f"pwreset demo: {exc}", file=sys.stderr)
        return 1
    try:
        return _run_with(lab, root, args.port)
    finally:
        lab.stop()
        if args.dir is None:
            shutil.rmtree(root, ignore_errors=True)
        print("pwreset demo: stopped.", flush=True)


def _run_with(lab: Any, root: Path, port: int) -> int:
    from pwreset.builder import build_sites
    from pwreset.config import load_config
    from pwreset.instance import create_instance

    instance = root / "instance"
    udp_port = _free_port(socket.SOCK_DGRAM)
    http_port = port if _is_free(port) else _free_port(socket.SOCK_STREAM)
    create_instance(instance, config_text=_demo_config(lab, udp_port, http_port))
    os.environ[_PASSWORD_ENV] = lab.service_password
    config = load_config(instance / "pwreset.toml")
    build_sites(config)
    url = f"http://127.0.0.1:{http_port}/demo/"
    users = ", ".join(sorted(u for u in lab.sample_users if u != "dave"))
    password = next(iter(lab.sample_users.values()))
    banner = f"""
  pwreset demo is running.

  Open:      {url}
  Domain:    EXAMPLE
  Users:     {users}   (dave is disabled)
  Password:  {password}
  New passwords need at least 8 characters and must not be one of the last 3.
  Enroll a user first (three questions), then try Reset or Unlock with the answers.

  Press Ctrl-C to stop.
"""
    # SIGTERM (a service manager, `timeout`, `kill`) stops the demo as Ctrl-C does, so the
    # directory and the temporary files go too.
    signal.signal(signal.SIGTERM, _interrupt)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_stack(config, http_port, banner))
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


async def _serve_stack(config: Any, http_port: int, banner: str) -> None:
    import uvicorn

    from pwreset.api import RelaySettings, create_app
    from pwreset.server.runner import serve

    ready = asyncio.Event()
    backend = asyncio.create_task(serve(config, ready=ready, handle_signals=False))
    await ready.wait()
    app = create_app(RelaySettings.from_config(config, serve_site=True))
    # As `pwreset web`: forwarded headers are the relay's to judge ([web] trusted_proxies).
    options = uvicorn.Config(
        app, host="127.0.0.1", port=http_port, log_level="warning", proxy_headers=False
    )
    web = uvicorn.Server(options)
    serving = asyncio.create_task(web.serve())  # returns on Ctrl-C (uvicorn handles it)
    while not web.started and not serving.done():
        await asyncio.sleep(0.05)
    if web.started:
        print(banner, flush=True)
    try:
        await serving
    finally:
        backend.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await backend


def _demo_config(lab: Any, udp_port: int, http_port: int) -> str:
    return f"""# Written by `pwreset demo`: a throwaway instance against a throwaway directory.
[server]
listen = "127.0.0.1:{udp_port}"
relay_key_file = "keys/relay.key"

[web]
listen = "127.0.0.1:{http_port}"
server = "127.0.0.1:{udp_port}"
relay_key_file = "keys/relay.key"
serve_site = true

[[domains]]
name = "EXAMPLE"
aliases = ["example.org"]
kind = "openldap"
urls = ["ldaps://127.0.0.1:{lab.tls_port}"]
base_dn = "{lab.base_dn}"
bind_dn = "{lab.service_dn}"
bind_password_env = "{_PASSWORD_ENV}"
[domains.tls]
ca_file = "{lab.ca_file}"

[sites.demo]
title = "Example Org password self-service"
domains = ["EXAMPLE"]
languages = ["en", "de"]

[security]
lockout_threshold = 5
"""


def _is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
