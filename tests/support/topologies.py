"""The DMZ topologies with more than one relay or server (issue 12), in namespaces: several
DMZ hosts switched onto the cable to the internal side (support.netns.dmz_lan), behind the
original product's firewall table with one rule pair per relay and server address.

`relays_on_one_server`: one server whose configuration lists every site, and one relay per
site on its own DMZ host, each with a configuration naming only its own site and a copy of
the relay key and the server's public key. `sites_on_two_servers`: one relay whose sites
each name their server (`[sites.<name>] server`), two servers on the internal side, each
with its own instance (data, data key); they share the server key pair, since the relay
holds one `keys/server.pub`, and the relay key. The lab directory and SMTP are bridged in
as in support.dmz. Each site gets a FlowStack whose requests go to that site.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import tomli_w

from pwreset.config import load_config
from pwreset.instance import RELAY_KEY, create_instance
from pwreset.protocol.keys import read_secret_key

from support.bridge import bridge
from support.dmz import (
    HTTP_TIMEOUT,
    RELAY_LISTEN,
    SERVER_PORT,
    directory_port,
    start_process,
    wait_until_served,
)
from support.flowstack import Clock, FlowStack, backend_config, sms_recorder
from support.netns import Namespace, dmz_lan, firewall
from support.smtp import SmtpServer

_PREFIX = 24
# The DMZ hosts' addresses (the last one runs no relay: a stranger in the DMZ), and the
# internal side's, all in RFC 2544's benchmarking range.
DMZ_ADDRESSES = ("198.18.0.1", "198.18.0.3", "198.18.0.5")
SERVER_ADDRESSES = ("198.18.0.2", "198.18.0.4")
_LOOPBACK = "127.0.0.1"
_ANY = "0.0.0.0"
_SHARED_KEYS = ("keys/server.key", "keys/server.pub", str(RELAY_KEY))


@dataclass
class Topology:
    sites: dict[str, FlowStack]  # each site's requests, through the relay serving it
    hosts: list[Namespace]  # the DMZ hosts, in DMZ_ADDRESSES' order
    server: Namespace  # the internal side


def _server_address(index: int) -> str:
    return f"{SERVER_ADDRESSES[index]}:{SERVER_PORT}"


class _Run:
    """What one topology starts: the lab bridges, the processes and the relays' clients."""

    def __init__(self, kind: str, lab: Any, admin: Any, root: Path, cleanup: ExitStack) -> None:
        self.kind, self.lab, self.admin, self.root, self.cleanup = kind, lab, admin, root, cleanup
        self.smtp = cleanup.enter_context(SmtpServer("plain"))
        self.sms, self.sms_log = sms_recorder(root)
        self.hosts, self.server = cleanup.enter_context(
            dmz_lan(
                [f"{a}/{_PREFIX}" for a in DMZ_ADDRESSES],
                [f"{a}/{_PREFIX}" for a in SERVER_ADDRESSES],
            )
        )
        self.outputs: dict[str, Path] = {}
        self.started: dict[str, subprocess.Popen[bytes]] = {}
        self.env: dict[str, str] = {}
        self.bridged = False

    def server_data(self, sites: dict[str, dict[str, Any]], listen: str) -> dict[str, Any]:
        own = {
            "server": {"listen": listen},
            "web": {"server": listen, "rate_limit": 0},  # every request comes from a bridge
        }
        data, env_name = backend_config(
            self.kind, self.lab, SERVER_PORT, self.smtp, self.sms, own, False
        )
        for key in ("timeout", "attempts"):  # the relay's defaults: what a user meets
            data["web"].pop(key, None)
        domain = data["domains"][0]["name"]
        data["sites"] = {name: {"domains": [domain], **site} for name, site in sites.items()}
        self.env = {**os.environ, env_name: self.lab.service_password}
        if not self.bridged:  # the internal side reaches the lab's directory and mail
            for port in (directory_port(data), self.smtp.port):
                self.cleanup.enter_context(
                    bridge(self.server, (_ANY, port), None, (_LOOPBACK, port))
                )
            self.bridged = True
        return data

    def instance(self, name: str, data: dict[str, Any], keys_from: Path | None = None) -> Path:
        """A server's instance folder; with `keys_from`, holding that one's shared keys."""
        folder = self.root / name
        create_instance(folder, config_text=tomli_w.dumps(data))
        for key in _SHARED_KEYS if keys_from else ():
            shutil.copy2(keys_from / key, folder / key)
        return folder

    def relay_host(self, name: str, data: dict[str, Any], instance: Path) -> Path:
        """A DMZ host's folder: its configuration ([web], [sites]) and a copy of the relay
        key and the server's public key."""
        folder = self.root / name
        for key in ("keys/server.pub", str(RELAY_KEY)):
            (folder / key).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(instance / key, folder / key)
        relay = {"web": data["web"], "sites": data["sites"]}
        (folder / "pwreset.toml").write_text(tomli_w.dumps(relay))
        return folder

    def _start(self, name: str, namespace: Namespace, argv: list[str]) -> None:
        self.outputs[name] = self.root / f"{name}.out"
        command = [sys.executable, "-m", "pwreset", *argv]
        self.started[name] = start_process(
            namespace, command, self.outputs[name], self.env, self.cleanup
        )

    def start_server(self, instance: Path) -> None:
        self._start(instance.name, self.server, ["server", "-c", str(instance / "pwreset.toml")])

    def build(self, *folders: Path) -> None:
        """The pages of each relay folder, built side by side."""
        builds = [
            subprocess.Popen([sys.executable, "-m", "pwreset", "build", "-c",
                              str(folder / "pwreset.toml")], stdout=subprocess.DEVNULL)
            for folder in folders
        ]  # fmt: skip
        if any(build.wait() for build in builds):
            raise RuntimeError(f"pwreset build failed in one of {folders}")

    def start_relay(self, host: Namespace, folder: Path, *, pages: bool) -> httpx2.Client:
        """The relay of `folder` on `host` (serving its built pages with `pages`); its
        client."""
        listen = ":".join(map(str, RELAY_LISTEN))
        options = ["--listen", listen, *(["--serve-site"] if pages else [])]
        self._start(folder.name, host, ["web", "-c", str(folder / "pwreset.toml"), *options])
        front = self.cleanup.enter_context(bridge(None, (_LOOPBACK, 0), host, RELAY_LISTEN))
        host_ip, port = front.address
        return self.cleanup.enter_context(
            httpx2.Client(base_url=f"http://{host_ip}:{port}", timeout=HTTP_TIMEOUT)
        )

    def flows(self, instance: Path, client: httpx2.Client, site: str) -> FlowStack:
        wait_until_served(client, self.outputs, self.started)
        config = load_config(instance / "pwreset.toml")
        return FlowStack(
            kind=self.kind,
            domain=config.domains[0].name,
            admin=self.admin,
            config=config,
            instance=instance,
            relay=client,  # type: ignore[arg-type]  # the same requests API as TestClient
            smtp=self.smtp,
            sms_log=self.sms_log,
            clock=Clock(),
            data_key=read_secret_key(instance / "keys" / "data.key"),
            site=site,
        )


@contextmanager
def relays_on_one_server(
    kind: str, lab: Any, admin: Any, root: Path, sites: tuple[str, str]
) -> Iterator[Topology]:
    """One relay per site on the first two DMZ hosts, one server on the first internal
    address; the firewall lets each relay address reach it."""
    with ExitStack() as cleanup:
        run = _Run(kind, lab, admin, root, cleanup)
        data = run.server_data({site: {} for site in sites}, _server_address(0))
        instance = run.instance("server", data)
        pairs = [(relay, SERVER_ADDRESSES[0]) for relay in DMZ_ADDRESSES[: len(sites)]]
        firewall(run.server, pairs, SERVER_PORT)
        folders = {
            site: run.relay_host(f"relay-{site}", {**data, "sites": {site: data["sites"][site]}},
                                 instance)
            for site in sites
        }  # fmt: skip
        run.build(*folders.values())
        run.start_server(instance)
        clients = {
            site: run.start_relay(host, folders[site], pages=True)
            for site, host in zip(sites, run.hosts, strict=False)
        }
        stacks = {site: run.flows(instance, clients[site], site) for site in sites}
        yield Topology(sites=stacks, hosts=run.hosts, server=run.server)


@contextmanager
def sites_on_two_servers(
    kind: str, lab: Any, admin: Any, root: Path, sites: tuple[str, str]
) -> Iterator[Topology]:
    """One relay on the first DMZ host; the first site's server on the first internal
    address, the second's on the second; the firewall lets the relay reach both."""
    with ExitStack() as cleanup:
        run = _Run(kind, lab, admin, root, cleanup)
        routes = {site: {"server": _server_address(i)} for i, site in enumerate(sites)}
        instances: list[Path] = []
        for index in range(len(sites)):
            data = run.server_data(routes, _server_address(index))
            keys_from = instances[0] if instances else None
            instances.append(run.instance(f"server-{index}", data, keys_from))
            run.start_server(instances[-1])
        pairs = [(DMZ_ADDRESSES[0], server) for server in SERVER_ADDRESSES[: len(sites)]]
        firewall(run.server, pairs, SERVER_PORT)
        folder = run.relay_host("relay", data, instances[0])
        client = run.start_relay(run.hosts[0], folder, pages=False)
        stacks = {
            site: run.flows(instance, client, site)
            for site, instance in zip(sites, instances, strict=True)
        }
        yield Topology(sites=stacks, hosts=run.hosts, server=run.server)
