"""A running pwreset instance for the integration tests: the real `pwreset server` process
against a lab directory, and the relay app in front of it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from pwreset.config import Config, load_config
from pwreset.instance import RELAY_KEY, create_instance
from pwreset.protocol.keys import read_public_key, read_secret_key
from pwreset.protocol.messages import Request
from pwreset.protocol.sealing import seal_request
from pwreset.server.storage import Database

# Every password a test sends; the secrets test looks for each in every file and log.
USED_SECRETS: set[str] = set()


def secret(value: str) -> str:
    USED_SECRETS.add(value)
    return value


def free_port(kind: str = "udp") -> int:
    with socket.socket(
        socket.AF_INET, socket.SOCK_DGRAM if kind == "udp" else socket.SOCK_STREAM
    ) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Stack:
    """One instance folder with its backend process running."""

    kind: str
    domain: str
    instance: Path
    config: Config
    process: subprocess.Popen[bytes]
    log_file: Path
    output_file: Path
    env: dict[str, str] = field(repr=False)
    options: tuple[str, ...] = ()  # more arguments of `pwreset server`

    @property
    def server_address(self) -> tuple[str, int]:
        host, port = self.config.server.listen.rsplit(":", 1)
        return host, int(port)

    def files(self) -> list[Path]:
        """Every file the instance and its processes wrote."""
        return [p for p in self.instance.rglob("*") if p.is_file()]

    def audited(self, username: str) -> list[tuple[str, str]]:
        """(ip, web user) of each audit row of `username`, as the server stored them."""
        key = read_secret_key(self.instance / "keys" / "data.key")
        db = Database.open_readonly(self.instance / "data", data_key=key)
        try:
            return [(e.ip, e.web_user) for e in db.audit.query() if e.user == username]
        finally:
            db.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def domain_toml(kind: str, lab: Any, password_env: str) -> str:
    if kind == "ad":
        return f"""
[[domains]]
name = "LAB"
aliases = ["lab.example.com"]
kind = "ad"
urls = ["ldaps://127.0.0.1:{lab.port}"]
base_dn = "{lab.base_dn}"
bind_dn = "{lab.service_upn}"
bind_password_env = "{password_env}"
[domains.tls]
ca_file = "{lab.ca_file}"
server_name = "{lab.server_name}"
"""
    return f"""
[[domains]]
name = "EXAMPLE"
aliases = ["example.org"]
kind = "openldap"
urls = ["ldaps://127.0.0.1:{lab.tls_port}"]
base_dn = "{lab.base_dn}"
bind_dn = "{lab.service_dn}"
bind_password_env = "{password_env}"
[domains.tls]
ca_file = "{lab.ca_file}"
"""


def start_stack(
    root: Path,
    kind: str,
    lab: Any,
    *,
    extra_sites: str = "",
    server_settings: str = "",
    timeout: float = 0.5,
    options: tuple[str, ...] = (),
) -> Stack:
    """Write an instance for `lab` under `root`, start `pwreset server OPTIONS`, wait until it
    answers. `server_settings` are more lines of its [server] table; `timeout` is the relay's
    wait for each attempt (4 attempts)."""
    env_name = f"PWRESET_TEST_{kind.upper()}_PASSWORD"
    udp = free_port("udp")
    domain = "LAB" if kind == "ad" else "EXAMPLE"
    text = f"""
[server]
listen = "127.0.0.1:{udp}"
log_file = "server.log"
relay_key_file = "keys/relay.key"
{server_settings}

[web]
server = "127.0.0.1:{udp}"
relay_key_file = "keys/relay.key"
timeout = {timeout}
attempts = 4
{domain_toml(kind, lab, env_name)}
[sites.pwreset]
title = "Test site"
flows = ["change"]
domains = ["{domain}"]

[sites.free]
title = "Free-text domain"
flows = ["change"]

[sites.closed]
flows = []
{extra_sites}
"""
    instance = root / f"instance-{kind}"
    create_instance(instance, config_text=text)
    config = load_config(instance / "pwreset.toml")
    env = {**os.environ, env_name: lab.service_password}
    output = instance / "server.out"
    stack = Stack(
        kind,
        domain,
        instance,
        config,
        _launch(instance, env, output, options),
        instance / "server.log",
        output,
        env,
        options,
    )
    return _answering(stack)


def restart_stack(stack: Stack) -> Stack:
    """Stop `stack`'s server and start another on the same instance and data."""
    stack.stop()
    process = _launch(stack.instance, stack.env, stack.output_file, stack.options)
    return _answering(replace(stack, process=process))


def _launch(
    instance: Path, env: dict[str, str], output: Path, options: tuple[str, ...] = ()
) -> subprocess.Popen[bytes]:
    with output.open("ab") as out:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pwreset",
                "server",
                "-c",
                str(instance / "pwreset.toml"),
                *options,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )


def _answering(stack: Stack) -> Stack:
    """`stack` once its server answers a ping (or an error saying why it does not)."""
    key = read_public_key(stack.instance / "keys" / "server.pub")
    relay_key = read_secret_key(stack.instance / RELAY_KEY)
    output = stack.output_file
    deadline = time.monotonic() + 30
    # A plain socket, not the asyncio client: Playwright's sync API may own the event loop.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.2)
        while True:
            if stack.process.poll() is not None:
                raise RuntimeError(f"pwreset server exited:\n{output.read_text()}")
            ping = Request(op="ping", vdir="pwreset", client_ip="127.0.0.1", body={})
            sock.sendto(seal_request(ping, key, relay_key=relay_key)[0], stack.server_address)
            try:
                sock.recv(65536)
                return stack
            except TimeoutError:
                if time.monotonic() > deadline:
                    stack.stop()
                    raise RuntimeError(
                        f"pwreset server did not answer:\n{output.read_text()}"
                    ) from None


@pytest.fixture(scope="session")
def slapd_stack(slapd_lab: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = start_stack(tmp_path_factory.mktemp("stack"), "openldap", slapd_lab)
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def samba_stack(samba_lab: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = start_stack(tmp_path_factory.mktemp("stack"), "ad", samba_lab)
    yield stack
    stack.stop()
