"""A server listening on a wildcard address answers through every address of its host: a
second address, or a floating one (VIP), not only the primary one.

The relay's socket is connected to the address it asks, so a reply that leaves from
another address of the server's host is dropped by the relay's kernel. The real `pwreset
server` runs in a namespace whose cable end holds two addresses of each family, the second
added after it started (as a VIP moves in), and each address is asked with the relay's own
client (`Relay.ping`, its health check) from a namespace on the other end.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from pwreset.api.relay import Relay
from pwreset.api.settings import RelaySettings

from support.backend import Backend
from support.netns import SERVER_END, Namespace, cable

RELAY = ["198.18.0.9/24", "2001:db8:88::9/64"]
# The first of each family is there when the server starts; the kernel picks it for a
# reply that does not say where it leaves from.
SERVER_V4 = ["198.18.0.1", "198.18.0.2"]
SERVER_V6 = ["2001:db8:88::1", "2001:db8:88::2"]
WILDCARDS = ("0.0.0.0", "::")
_START_TIMEOUT = 30.0

Servers = tuple[Namespace, dict[str, Backend]]


def _answers(relay_side: Namespace, backend: Backend, host: str) -> bool:
    """Whether the relay's health check through `host` gets the server's answer."""
    settings = RelaySettings(sites={}, server_key=backend.key, relay_key=backend.relay_key)
    relay = Relay(settings)
    return relay_side.call(lambda: asyncio.run(relay.ping((host, backend.port), "pwreset")))


def _wait_until_up(relay_side: Namespace, backend: Backend, host: str) -> None:
    deadline = time.monotonic() + _START_TIMEOUT
    while not _answers(relay_side, backend, host):
        if backend.process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"pwreset server did not answer on {host}:\n{backend.log()}")


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    """A server on 0.0.0.0 and one on ::, side by side on the server's side of the cable
    (started together: each spends its start-up failing to reach its placeholder
    directory)."""
    primary = [f"{SERVER_V4[0]}/24", f"{SERVER_V6[0]}/64"]
    with cable(RELAY, primary) as (relay_side, server_side), ExitStack() as stop:
        backends = {}
        for listen in WILDCARDS:
            folder = tmp_path_factory.mktemp("instance")
            backends[listen] = Backend(folder, host=listen, namespace=server_side)
            stop.callback(backends[listen].stop)
        for backend in backends.values():
            # The primary address: the one a reply leaves from when nobody says otherwise.
            _wait_until_up(relay_side, backend, SERVER_V4[0])
        # The second ones come after the servers started, as a floating address (VIP) does.
        for second in (f"{SERVER_V4[1]}/24", f"{SERVER_V6[1]}/64"):
            server_side.add_address(second, SERVER_END)
        yield relay_side, backends


@pytest.mark.parametrize(
    ("listen", "asked"),
    [
        ("0.0.0.0", SERVER_V4),
        # One IPv6 socket serves IPv4 too (as mapped addresses): both answer from the asked.
        ("::", SERVER_V6 + SERVER_V4),
    ],
    ids=["ipv4", "ipv6-dual-stack"],
)
def test_every_address_of_the_host_answers(servers: Servers, listen: str, asked: list[str]) -> None:
    relay_side, backends = servers
    answered = {host: _answers(relay_side, backends[listen], host) for host in asked}
    assert answered == dict.fromkeys(asked, True)
