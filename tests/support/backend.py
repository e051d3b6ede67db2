"""A real `pwreset server` process with a placeholder directory: enough for the transport
(ping, meta, datagram checks) without a directory server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from pwreset.instance import RELAY_KEY, create_instance
from pwreset.protocol.keys import read_public_key, read_secret_key
from pwreset.protocol.messages import Request
from pwreset.protocol.sealing import seal_request

from support.netns import Namespace

CONFIG = """
[server]
listen = "{listen}"
log_file = "server.log"
clock_skew = 30
{server_settings}

[[domains]]
name = "EXAMPLE"
kind = "openldap"
urls = ["ldaps://127.0.0.1:9"]
base_dn = "dc=example,dc=org"
bind_dn = "cn=svc,dc=example,dc=org"
bind_password_env = "PWRESET_UNUSED_PASSWORD"
"""


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


_WEB_RELAY_KEY = 'relay_key_file = "keys/relay.key"\n'


def _with_web_relay_key(sites: str) -> str:
    """`sites` with the relay key in its [web] table (added if it has none), as init does."""
    if "[web]\n" in sites:
        return sites.replace("[web]\n", "[web]\n" + _WEB_RELAY_KEY, 1)
    return sites + "\n[web]\n" + _WEB_RELAY_KEY


class Backend:
    def __init__(
        self,
        folder: Path,
        sites: str = "",
        *,
        server_settings: str = 'relay_key_file = "keys/relay.key"',
        host: str = "127.0.0.1",
        namespace: Namespace | None = None,
        **values: object,
    ) -> None:
        """`server_settings` are lines of its [server] table (by default: the relay key);
        the server listens on `host`, in `namespace` (None: the test run's)."""
        self.port = free_udp_port()
        listen = f"[{host}]:{self.port}" if ":" in host else f"{host}:{self.port}"
        text = (CONFIG + _with_web_relay_key(sites)).format(
            port=self.port, listen=listen, server_settings=server_settings, **values
        )
        create_instance(folder, config_text=text)
        self.folder = folder
        self.key = read_public_key(folder / "keys" / "server.pub")
        # What the relay seals with: the key, if the server was given it.
        uses_key = "relay_key_file" in server_settings
        self.relay_key = read_secret_key(folder / RELAY_KEY) if uses_key else None
        env = {**os.environ, "PWRESET_UNUSED_PASSWORD": "unused-in-this-test"}
        argv = [sys.executable, "-m", "pwreset", "server", "-c", str(folder / "pwreset.toml")]
        self.process = subprocess.Popen(
            namespace.command(*argv) if namespace else argv,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def seal(self, request: Request, *, authenticated: bool = True) -> tuple[bytes, Any]:
        """Seal as the instance's relay does, or without the relay key."""
        return seal_request(request, self.key, relay_key=self.relay_key if authenticated else None)

    def send(self, datagram: bytes, wait: float = 1.0) -> bytes | None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(wait)
            sock.sendto(datagram, ("127.0.0.1", self.port))
            try:
                return sock.recv(65536)
            except TimeoutError:
                return None

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log(self) -> str:
        path = self.folder / "server.log"
        return path.read_text() if path.exists() else ""

    def ping(self, *, authenticated: bool = True, **changes: object) -> tuple[Request, bytes, Any]:
        request = replace(
            Request(op="ping", vdir="pwreset", client_ip="127.0.0.1", body={}),
            **changes,  # type: ignore[arg-type]
        )
        datagram, reply_key = self.seal(request, authenticated=authenticated)
        return request, datagram, reply_key


def start_backend(folder: Path, sites: str = "", **values: Any) -> Backend:
    """Start the backend and wait until it answers a ping; `sites` may use {port}."""
    server = Backend(folder, sites, **values)
    deadline = time.monotonic() + 20
    while True:
        _, datagram, _ = server.ping()
        if server.send(datagram, 0.2) is not None:
            return server
        if server.process.poll() is not None:
            raise RuntimeError("pwreset server exited")
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError("pwreset server did not answer")
