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

from pwreset.instance import create_instance
from pwreset.protocol.keys import read_public_key
from pwreset.protocol.messages import Request
from pwreset.protocol.sealing import seal_request

CONFIG = """
[server]
listen = "127.0.0.1:{port}"
log_file = "server.log"
clock_skew = 30

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


class Backend:
    def __init__(self, folder: Path, sites: str = "", **values: object) -> None:
        self.port = free_udp_port()
        text = (CONFIG + sites).format(port=self.port, **values)
        create_instance(folder, config_text=text)
        self.folder = folder
        self.key = read_public_key(folder / "keys" / "server.pub")
        env = {**os.environ, "PWRESET_UNUSED_PASSWORD": "unused-in-this-test"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pwreset", "server", "-c", str(folder / "pwreset.toml")],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

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

    def ping(self, **changes: object) -> tuple[Request, bytes, object]:
        request = replace(
            Request(op="ping", vdir="pwreset", client_ip="127.0.0.1", body={}),
            **changes,  # type: ignore[arg-type]
        )
        datagram, reply_key = seal_request(request, self.key)
        return request, datagram, reply_key


def start_backend(folder: Path, sites: str = "", **values: object) -> Backend:
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
