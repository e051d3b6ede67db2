"""A DMZ install on a lossy link: `pwreset web` in the relay's namespace, `pwreset server`
in the server's, sealed UDP between them over a veth cable that drops datagrams at random.

The lab directory and the SMTP server stay in the test run's namespace and are reached from
the server's side through bridges (at the same ports, on every address of that side, as a
directory on the internal network listens; so the configuration is the flow tests' own);
the test's HTTP client reaches the relay through another. With `firewall`, the server's
side keeps the original product's DMZ firewall table; with `pages`, the relay serves the
built pages. The relay runs with its default retry settings: what a user would meet.
Requests are made through FlowStack's helpers; its clock does not reach the server process
(it cannot be moved).
"""

from __future__ import annotations

import os
import secrets as random
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2
import tomli_w

from pwreset.config import load_config
from pwreset.instance import create_instance
from pwreset.protocol.keys import read_secret_key

from support.bridge import bridge
from support.flowstack import PASSWORD, Clock, FlowStack, backend_config, sms_recorder
from support.netns import SERVER_IP, LossyLink, Namespace, lossy_link
from support.smtp import SmtpServer
from support.stacks import secret

SERVER_PORT = 5100
RELAY_LISTEN = ("127.0.0.1", 8080)
_LOOPBACK = "127.0.0.1"
_ANY = "0.0.0.0"
# Generous: a request may wait through all of the relay's retries.
HTTP_TIMEOUT = 60.0


@dataclass
class DmzStack:
    flows: FlowStack
    link: LossyLink
    root: Path

    def files(self) -> list[Path]:
        """Every file this run's pwreset wrote: instance, data, logs and both processes'
        output (not the SMS recorder's inbox: that is the user's phone)."""
        return [
            p
            for p in self.root.rglob("*")
            if p.is_file() and not p.is_symlink() and p != self.flows.sms_log
        ]


def reset_a_new_user(stack: FlowStack, prefix: str) -> str:
    """A new user (named `prefix` and a random tag) enrolls on the stack's site, then resets
    their password there: the new one binds. Their name."""
    user = prefix + random.token_hex(4)
    stack.admin.create_user(user, PASSWORD)
    assert stack.enroll(user).status_code == 200
    reply = stack.answer_all("reset", user)
    assert reply.json()["step"]["kind"] == "password", reply.text
    new = secret(f"Dmz!{random.token_hex(4)}-7c")
    reply = stack.step("reset", reply.json()["flow"], new_password=new)
    assert reply.json() == {"status": "done", "message": "RES_FINISHED_RESET"}, reply.text
    assert stack.admin.bind_ok(user, new)
    return user


def directory_port(data: dict[str, Any]) -> int:
    port = urlsplit(data["domains"][0]["urls"][0]).port
    assert port is not None
    return port


def start_process(
    namespace: Namespace, argv: list[str], output: Path, env: dict[str, str], cleanup: ExitStack
) -> subprocess.Popen[bytes]:
    with output.open("ab") as out:
        process = subprocess.Popen(
            namespace.command(*argv), stdout=out, stderr=subprocess.STDOUT, env=env
        )
    cleanup.callback(_stop, process)
    return process


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_served(client: httpx2.Client, processes: dict[str, Path], started: Any) -> None:
    """Until /healthz says the relay's server answers (its pings cross the lossy link)."""
    deadline = time.monotonic() + 60
    while True:
        for name, output in processes.items():
            if started[name].poll() is not None:
                raise RuntimeError(f"pwreset {name} exited:\n{output.read_text()}")
        try:
            if client.get("/healthz").status_code == 200:
                return
        except httpx2.TransportError:
            pass
        if time.monotonic() > deadline:
            logs = "\n".join(output.read_text() for output in processes.values())
            raise RuntimeError(f"the relay's server did not answer:\n{logs}")
        time.sleep(0.2)


@contextmanager
def dmz_stack(
    kind: str,
    lab: Any,
    admin: Any,
    root: Path,
    *,
    loss: int = 20,
    settings: dict[str, Any] | None = None,
    firewall: bool = False,
    pages: bool = False,
) -> Iterator[DmzStack]:
    """The stack with `loss` % of UDP dropped each way and `settings` (shaped like
    pwreset.toml) merged in. Everything started is stopped and both namespaces removed at
    the end, whatever happened."""
    settings = dict(settings or {})
    stock_alerts = bool(settings.pop("stock_alerts", False))
    address = f"{SERVER_IP}:{SERVER_PORT}"
    own = {
        "server": {"listen": address},
        "web": {"server": address, "rate_limit": 0},  # every request comes from the bridge
    }
    for table, values in settings.items():
        own[table] = {**own.get(table, {}), **values}
    sms, sms_log = sms_recorder(root)
    with ExitStack() as cleanup:
        smtp = cleanup.enter_context(SmtpServer("plain"))
        link = cleanup.enter_context(lossy_link(loss))
        data, env_name = backend_config(kind, lab, SERVER_PORT, smtp, sms, own, stock_alerts)
        for key in ("timeout", "attempts"):  # the flow tests' quick values: the defaults here
            if key not in own["web"]:
                data["web"].pop(key, None)
        instance = root / "instance"
        create_instance(instance, config_text=tomli_w.dumps(data))
        config = load_config(instance / "pwreset.toml")

        if firewall:
            link.firewall(SERVER_PORT)
        for port in (directory_port(data), smtp.port):
            target = (_LOOPBACK, port)
            cleanup.enter_context(bridge(link.server, (_ANY, port), None, target))
        env = {**os.environ, env_name: lab.service_password}
        command = [sys.executable, "-m", "pwreset"]
        config_file = str(instance / "pwreset.toml")
        web_options = ["--listen", ":".join(map(str, RELAY_LISTEN))]
        if pages:
            subprocess.run([*command, "build", "-c", config_file], check=True,
                           capture_output=True)  # fmt: skip
            web_options.append("--serve-site")
        outputs = {"server": root / "server.out", "web": root / "web.out"}
        started = {
            "server": start_process(link.server, [*command, "server", "-c", config_file],
                             outputs["server"], env, cleanup),
            "web": start_process(link.relay, [*command, "web", "-c", config_file, *web_options],
                          outputs["web"], env, cleanup),
        }  # fmt: skip
        front = cleanup.enter_context(bridge(None, (_LOOPBACK, 0), link.relay, RELAY_LISTEN))
        host, port = front.address
        client = cleanup.enter_context(
            httpx2.Client(base_url=f"http://{host}:{port}", timeout=HTTP_TIMEOUT)
        )
        wait_until_served(client, outputs, started)
        flows = FlowStack(
            kind=kind,
            domain=data["domains"][0]["name"],
            admin=admin,
            config=config,
            instance=instance,
            relay=client,  # type: ignore[arg-type]  # the same requests API as TestClient
            smtp=smtp,
            sms_log=sms_log,
            clock=Clock(),
            data_key=read_secret_key(instance / "keys" / "data.key"),
        )
        yield DmzStack(flows=flows, link=link, root=root)
