"""The whole stack as processes, for load and crash runs: `pwreset server` (which may be
killed with SIGKILL and started again on the same data) and `pwreset web` in front of it,
on a lab directory (slapd for the benches, Samba AD too in the suite), with users created
in the directory in bulk.

The instance is set up to measure throughput: no relay rate limit (every simulated user
comes from 127.0.0.1, which the stock 30 requests a minute would throttle at once) and a
relay budget long enough for a queue of 200 users (see docs/performance.md).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pwreset_lab import SambaAdmin, SambaLab, SlapdAdmin, SlapdLab

from pwreset.config import load_config
from pwreset.instance import RELAY_KEY, create_instance
from pwreset.protocol.client import waits
from pwreset.protocol.keys import read_public_key, read_secret_key
from pwreset.protocol.messages import Request
from pwreset.protocol.sealing import seal_request
from pwreset.server.storage import AuditEvent, Database, UserRecord

from support.simusers import QUESTIONS, SimUser, lock_time
from support.stacks import domain_toml, free_port
from support.web import run_web

DOMAIN = "EXAMPLE"  # the slapd lab's; Samba AD's is LAB
_PASSWORD_ENV = "PWRESET_LOAD_DIRECTORY_PASSWORD"


def relay_budget(timeout: float, attempts: int) -> float:
    """How long the relay waits for the server in all (its default max_timeout)."""
    return sum(waits(timeout, attempts))


def instance_config(
    kind: str, lab: SlapdLab | SambaLab, udp: int, *, timeout: float, attempts: int
) -> str:
    domain = "LAB" if kind == "ad" else DOMAIN
    questions = ", ".join(f'"{q}"' for q in QUESTIONS)
    return f"""
[server]
listen = "127.0.0.1:{udp}"
log_file = "server.log"
relay_key_file = "keys/relay.key"

[web]
server = "127.0.0.1:{udp}"
relay_key_file = "keys/relay.key"
timeout = {timeout}
attempts = {attempts}
rate_limit = 0
{domain_toml(kind, lab, _PASSWORD_ENV)}
[sites.pwreset]
domains = ["{domain}"]

[enroll.question_list]
en = [{questions}]
"""


@dataclass
class ProcessMeter:
    """CPU seconds and memory of a running process, from /proc."""

    pid: int

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def memory_mb(self, key: str = "VmRSS") -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1]) / 1024
        return 0.0


@dataclass
class LoadStack:
    kind: str  # "openldap" | "ad"
    domain: str
    lab: SlapdLab | SambaLab
    admin: SlapdAdmin | SambaAdmin
    instance: Path
    base_url: str = ""
    server: subprocess.Popen[bytes] | None = None
    data_key: bytes = field(default=b"", repr=False)
    _port: int = 0

    @property
    def config_file(self) -> Path:
        return self.instance / "pwreset.toml"

    @property
    def data_dir(self) -> Path:
        return self.instance / "data"

    # --- the server process -------------------------------------------------------------------

    def start_server(self) -> None:
        env = {**os.environ, _PASSWORD_ENV: self.lab.service_password}
        with (self.instance / "server.out").open("ab") as out:
            self.server = subprocess.Popen(
                [sys.executable, "-m", "pwreset", "server", "-c", str(self.config_file)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )
        self._wait_until_answering()

    def kill_server(self) -> None:
        """SIGKILL: no clean-up of any kind, as a power cut or the OOM killer would."""
        assert self.server is not None
        self.server.send_signal(signal.SIGKILL)
        self.server.wait(10)

    def stop_server(self) -> None:
        if self.server is not None and self.server.poll() is None:
            self.server.terminate()
            try:
                self.server.wait(20)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()

    def server_meter(self) -> ProcessMeter:
        assert self.server is not None
        return ProcessMeter(self.server.pid)

    def _wait_until_answering(self) -> None:
        assert self.server is not None
        key = read_public_key(self.instance / "keys" / "server.pub")
        relay_key = read_secret_key(self.instance / RELAY_KEY)
        deadline = time.monotonic() + 30
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(0.2)
            while True:
                if self.server.poll() is not None:
                    out = (self.instance / "server.out").read_text(errors="replace")
                    raise RuntimeError(f"pwreset server exited:\n{out[-2000:]}")
                ping = Request(op="ping", vdir="pwreset", client_ip="127.0.0.1", body={})
                sock.sendto(
                    seal_request(ping, key, relay_key=relay_key)[0], ("127.0.0.1", self._port)
                )
                try:
                    sock.recv(65536)
                    return
                except TimeoutError:
                    if time.monotonic() > deadline:
                        raise RuntimeError("pwreset server did not answer a ping") from None

    # --- the directory ------------------------------------------------------------------------

    def create_users(self, prefix: str, count: int, password: str) -> list[SimUser]:
        """`count` new users in the directory, created from a few threads."""
        names = [f"{prefix}{i:04d}" for i in range(count)]
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda n: self.admin.create_user(n, password), names))
        return [SimUser(name, password) for name in names]

    def lock(self, name: str) -> None:
        """Lock the account in the directory, as its failed-logon lockout does."""
        if isinstance(self.admin, SlapdAdmin):
            self.admin.set_attribute(name, "pwdAccountLockedTime", lock_time())
        else:
            self.admin.lock(name)  # AD computes the lockout itself: wrong binds

    # --- what the server stored ---------------------------------------------------------------

    def stored(self) -> tuple[dict[str, UserRecord], list[AuditEvent]]:
        """Every user record and audit row, read from the files (the server may run)."""
        db = Database.open_readonly(self.data_dir, data_key=self.data_key)
        try:
            users = {r.username: r for r in db.users}
            return users, list(db.audit.query())
        finally:
            db.close()


@contextmanager
def load_stack(
    root: Path, lab: SlapdLab | SambaLab, *, timeout: float = 5.0, attempts: int = 3
) -> Iterator[LoadStack]:
    """`pwreset server` and `pwreset web` running on a new instance under `root`."""
    udp = free_port("udp")
    instance = root / "instance"
    kind = "ad" if isinstance(lab, SambaLab) else "openldap"
    text = instance_config(kind, lab, udp, timeout=timeout, attempts=attempts)
    create_instance(instance, config_text=text)
    config = load_config(instance / "pwreset.toml")  # a bad file fails here, with its reason
    admin = SambaAdmin(lab) if isinstance(lab, SambaLab) else SlapdAdmin(lab)
    domain = config.domains[0].name
    stack = LoadStack(kind, domain, lab, admin, instance, _port=udp)
    stack.data_key = read_secret_key(instance / "keys" / "data.key")
    stack.start_server()
    try:
        with run_web(stack.config_file) as url:
            stack.base_url = url
            yield stack
    finally:
        stack.stop_server()
