"""Network namespaces a test run makes for itself: a relay side and a server side joined by
a veth cable (for the loss tests, one that nftables makes drop UDP at random), with
processes, sockets and calls run inside either.

Nothing here touches the namespace the tests run in: both cable ends are created straight
inside the new namespaces, the addresses exist only there, and the rules live in the
namespaces' own nftables. Names carry the process id and a random tag, so parallel runs
never meet; the namespaces (and any process still in them) go when the context ends.
"""

from __future__ import annotations

import ctypes
import json
import os
import secrets
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

# RFC 2544's benchmarking range: never routed, and here only inside the two namespaces.
RELAY_IP = "198.18.0.1"
SERVER_IP = "198.18.0.2"
_PREFIX = 30
RELAY_END = "veth-relay"
SERVER_END = "veth-server"
_TABLE = "pwreset_loss"
_FIREWALL = "pwreset_dmz"
_SWITCH = "br-dmz"
_CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)
T = TypeVar("T")


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")


@dataclass(frozen=True)
class Namespace:
    """A named network namespace (`ip netns`)."""

    name: str

    @property
    def path(self) -> Path:
        return Path("/run/netns") / self.name

    def command(self, *argv: str) -> list[str]:
        """`argv` run inside this namespace (ip netns exec keeps the environment)."""
        return ["ip", "netns", "exec", self.name, *argv]

    def run(self, *argv: str, stdin: str | None = None) -> str:
        done = subprocess.run(self.command(*argv), input=stdin, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"{' '.join(argv)} in {self.name}: {done.stderr.strip()}")
        return done.stdout

    def socket(self, kind: socket.SocketKind = socket.SOCK_STREAM) -> socket.socket:
        """An IPv4 socket that lives in this namespace (a socket keeps the namespace it was
        made in)."""
        return self.call(lambda: socket.socket(socket.AF_INET, kind))

    def call(self, function: Callable[[], T]) -> T:
        """`function()`'s result, run in a thread of its own moved into this namespace: the
        sockets it makes (an asyncio client's too) live there."""
        outcome: list[T] = []
        failure: list[BaseException] = []

        def inside() -> None:
            there = os.open(self.path, os.O_RDONLY)
            try:
                _setns(there)  # moves this thread only, which ends with the call
                outcome.append(function())
            except BaseException as exc:
                failure.append(exc)
            finally:
                os.close(there)

        thread = threading.Thread(target=inside, name=f"in {self.name}")
        thread.start()
        thread.join()
        if failure:
            raise failure[0]
        return outcome[0]

    def add_address(self, address: str, device: str) -> None:
        """`address/prefix` (IPv4 or IPv6) on `device`, usable at once (IPv6 without the
        duplicate check, which would hold it back a second or two)."""
        nodad = ["nodad"] if ":" in address else []
        _ip("-n", self.name, "addr", "add", address, "dev", device, *nodad)

    def pids(self) -> list[int]:
        done = subprocess.run(
            ["ip", "netns", "pids", self.name], capture_output=True, text=True, check=False
        )
        return [int(pid) for pid in done.stdout.split()]


def _setns(fd: int) -> None:
    if _libc.setns(fd, _CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"setns: {os.strerror(errno)}")


@dataclass(frozen=True)
class LinkCounters:
    """UDP datagrams that reached the cable in each direction, and how many it dropped."""

    requests: int
    requests_dropped: int
    replies: int
    replies_dropped: int


@dataclass
class LossyLink:
    relay: Namespace
    server: Namespace
    relay_ip: str = RELAY_IP
    server_ip: str = SERVER_IP

    def set_loss(self, percent: int) -> None:
        """Drop `percent` % of UDP datagrams at random in each direction (0: none)."""
        if not 0 <= percent <= 100:
            raise ValueError(f"loss {percent}% is not a percentage")
        # Dropped where they arrive, as a lossy network would: the sender never knows.
        # Counted before the drop: all the relay sent (resends included), and all replies.
        for namespace, end, what in (
            (self.server, SERVER_END, "requests"),
            (self.relay, RELAY_END, "replies"),
        ):
            rules = f"""
table inet {_TABLE} {{}}
flush table inet {_TABLE}
table inet {_TABLE} {{
  chain arriving {{
    type filter hook input priority 0; policy accept;
    iifname "{end}" meta l4proto udp counter comment "{what}"
    iifname "{end}" meta l4proto udp numgen random mod 100 < {percent} \
counter drop comment "{what}_dropped"
  }}
}}
"""
            namespace.run("nft", "-f", "-", stdin=rules)

    def firewall(self, port: int) -> None:
        """The original product's DMZ firewall table between this cable's two addresses."""
        firewall(self.server, [(self.relay_ip, self.server_ip)], port)

    def counters(self) -> LinkCounters:
        found: dict[str, int] = {}
        for namespace in (self.server, self.relay):
            listing = json.loads(namespace.run("nft", "-j", "list", "table", "inet", _TABLE))
            for item in listing["nftables"]:
                rule = item.get("rule")
                if rule and "comment" in rule:
                    counter = next(e["counter"] for e in rule["expr"] if "counter" in e)
                    found[rule["comment"]] = int(counter["packets"])
        return LinkCounters(**found)


def firewall(server: Namespace, pairs: Sequence[tuple[str, str]], port: int) -> None:
    """The original product's DMZ firewall table, kept by the server's side (out of the
    relay's reach): one rule pair per (relay address, server address), from the relay only
    UDP to the server's `port` and back only UDP from that port to the relay; anything else
    across the cable is dropped, either way (what arrives is counted: `refused`)."""
    inbound = "".join(
        f'    iifname "{SERVER_END}" ip saddr {relay} ip daddr {own} udp dport {port} accept\n'
        for relay, own in pairs
    )
    outbound = "".join(
        f'    oifname "{SERVER_END}" ip saddr {own} ip daddr {relay} udp sport {port} accept\n'
        for relay, own in pairs
    )
    rules = f"""
table inet {_FIREWALL} {{
  chain from_dmz {{
    type filter hook input priority filter; policy accept;
{inbound}    iifname "{SERVER_END}" counter drop comment "refused"
  }}
  chain to_dmz {{
    type filter hook output priority filter; policy accept;
{outbound}    oifname "{SERVER_END}" drop
  }}
}}
"""
    server.run("nft", "-f", "-", stdin=rules)


def refused(server: Namespace) -> int:
    """Datagrams and segments from the DMZ the firewall has dropped so far."""
    listing = json.loads(server.run("nft", "-j", "list", "table", "inet", _FIREWALL))
    for item in listing["nftables"]:
        rule = item.get("rule")
        if rule and rule.get("comment") == "refused":
            return int(next(e["counter"] for e in rule["expr"] if "counter" in e)["packets"])
    raise RuntimeError("the firewall table has no refused counter")


def _make_namespaces(cleanup: ExitStack, *namespaces: Namespace) -> None:
    for namespace in namespaces:
        _ip("netns", "add", namespace.name)
        cleanup.callback(_remove, namespace)
        _ip("-n", namespace.name, "link", "set", "lo", "up")


def _plug(namespace: Namespace, end: str, addresses: Sequence[str]) -> None:
    for address in addresses:
        namespace.add_address(address, end)
    _ip("-n", namespace.name, "link", "set", end, "up")


@contextmanager
def cable(
    relay_addresses: Sequence[str], server_addresses: Sequence[str]
) -> Iterator[tuple[Namespace, Namespace]]:
    """Two fresh namespaces, relay side and server side, each with its loopback up and one
    end of a veth cable holding its addresses (`address/prefix`, IPv4 or IPv6)."""
    tag = f"{os.getpid()}-{secrets.token_hex(3)}"
    relay, server = Namespace(f"pwreset-relay-{tag}"), Namespace(f"pwreset-server-{tag}")
    with ExitStack() as cleanup:
        _make_namespaces(cleanup, relay, server)
        _ip("link", "add", RELAY_END, "netns", relay.name, "type", "veth",
            "peer", "name", SERVER_END, "netns", server.name)  # fmt: skip
        _plug(relay, RELAY_END, relay_addresses)
        _plug(server, SERVER_END, server_addresses)
        yield relay, server


@contextmanager
def dmz_lan(
    host_addresses: Sequence[str], server_addresses: Sequence[str]
) -> Iterator[tuple[list[Namespace], Namespace]]:
    """A DMZ network of several hosts (one namespace each, holding one `address/prefix`)
    switched onto one cable to the server's side (its `server_addresses`): the server's
    end is the same as `cable`'s, so is its firewall. The switch is a bridge in a namespace
    of its own, with no address."""
    tag = f"{os.getpid()}-{secrets.token_hex(3)}"
    switch, server = Namespace(f"pwreset-switch-{tag}"), Namespace(f"pwreset-server-{tag}")
    hosts = [Namespace(f"pwreset-dmz{i}-{tag}") for i in range(len(host_addresses))]
    with ExitStack() as cleanup:
        _make_namespaces(cleanup, switch, server, *hosts)
        _ip("-n", switch.name, "link", "add", _SWITCH, "type", "bridge")
        _ip("-n", switch.name, "link", "set", _SWITCH, "up")
        ends = [(server, SERVER_END, server_addresses)]
        ends += [
            (host, RELAY_END, [address])
            for host, address in zip(hosts, host_addresses, strict=True)
        ]
        for index, (namespace, end, addresses) in enumerate(ends):
            port = f"port{index}"
            _ip("link", "add", end, "netns", namespace.name, "type", "veth",
                "peer", "name", port, "netns", switch.name)  # fmt: skip
            _ip("-n", switch.name, "link", "set", port, "master", _SWITCH)
            _ip("-n", switch.name, "link", "set", port, "up")
            _plug(namespace, end, addresses)
        yield hosts, server


@contextmanager
def lossy_link(percent: int) -> Iterator[LossyLink]:
    """A cable (RELAY_IP, SERVER_IP) that drops `percent` % of UDP each way."""
    with cable([f"{RELAY_IP}/{_PREFIX}"], [f"{SERVER_IP}/{_PREFIX}"]) as (relay, server):
        link = LossyLink(relay, server)
        link.set_loss(percent)
        yield link


# Looks at a namespace found empty before it is deleted, this far apart.
_SETTLE_LOOKS, _SETTLE_GAP = 2, 0.1


def _remove(namespace: Namespace) -> None:
    """Stop what still runs inside (only this run's processes can be there), then delete
    the namespace; its cable end and rules go with it. A process entering meanwhile (`ip
    netns exec` between opening the namespace and joining it) is listed only on a later
    look, so the namespace is deleted only once several looks in a row find it empty (a
    process left in it once it has no name would run on, unseen: found once in CI)."""
    empty_looks, rounds = 0, 0
    while empty_looks < _SETTLE_LOOKS and rounds < 20:
        rounds += 1
        if _stop_inside(namespace):
            empty_looks = 0
        else:
            empty_looks += 1
            time.sleep(_SETTLE_GAP)
    subprocess.run(["ip", "netns", "del", namespace.name], capture_output=True, check=False)


def _stop_inside(namespace: Namespace) -> bool:
    """SIGTERM, then SIGKILL, what runs inside; whether anything did."""
    found = False
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = namespace.pids()
        found = found or bool(pids)
        for pid in pids:
            with suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + 5
        while pids and namespace.pids() and time.monotonic() < deadline:
            time.sleep(0.05)
    return found
