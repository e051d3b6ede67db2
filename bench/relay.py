"""What sealing costs a request: the relay's client and the server against a raw UDP echo.

    .venv/bin/python bench/relay.py [--requests 2000] [--data-dir DIR]

The servers run in a process of their own, on one event loop, the clients in this one,
over loopback. The raw side sends a datagram of the sealed
request's size on a connected socket and waits for it to come back (what UDP itself
costs). The sealed side is the real path: `protocol.client.exchange` seals a `ping` for the
server's key and the relay key, `server.service.ResetService` opens it, checks its
freshness and the replay guard, records its id in the replay journal (in --data-dir, a
temporary folder by default: its fdatasync is the disk's), runs it in a worker thread and
seals the reply, which the client opens. Requests go one at a time, alternating between the
two sides, so both see the same machine.

One line per figure: `name: value unit (baseline ..., ratio ...)`. The goal: at most 0.5 ms
added at p99. Exits 1 if it is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from pwreset.protocol.client import exchange
from pwreset.protocol.keys import Keyring, generate_private_key
from pwreset.protocol.messages import Request
from pwreset.protocol.sealing import seal_request
from pwreset.server.service import Flows, ResetService
from pwreset.server.storage.replay_journal import ReplayJournal

GOAL_MS = 0.5


class _Echo(asyncio.DatagramProtocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[Any, int]) -> None:
        self.transport.sendto(data, addr)


class _Waiter(asyncio.DatagramProtocol):
    def __init__(self, future: asyncio.Future[bytes]) -> None:
        self.future = future

    def datagram_received(self, data: bytes, addr: tuple[Any, int]) -> None:
        if not self.future.done():
            self.future.set_result(data)


async def _raw(address: tuple[str, int], payload: bytes) -> None:
    """One datagram out and back, on a connected socket of its own (as the client does)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[bytes] = loop.create_future()
    transport, _ = await loop.create_datagram_endpoint(lambda: _Waiter(future), remote_addr=address)
    try:
        transport.sendto(payload)
        await asyncio.wait_for(future, 5)
    finally:
        transport.close()


def _serve(raw_key: bytes, relay_key: bytes, data_dir: Path, ports: Any, stop: Any) -> None:
    """In the servers' own process: the echo and the reset service on one event loop."""

    async def run() -> None:
        loop = asyncio.get_running_loop()
        echo, _ = await loop.create_datagram_endpoint(_Echo, local_addr=("127.0.0.1", 0))
        context = SimpleNamespace(db=None, config=SimpleNamespace(sites={}))
        keyring = Keyring([X25519PrivateKey.from_private_bytes(raw_key)])
        service = ResetService(Flows(cast(Any, context)), keyring, relay_key=relay_key,
                               allow_unauthenticated=False,
                               journal=ReplayJournal(data_dir / "replay", 60.0),
                               clock_skew=60, max_datagram=32768, workers=2)  # fmt: skip
        server, _ = await loop.create_datagram_endpoint(
            lambda: service, local_addr=("127.0.0.1", 0)
        )
        ports.put([t.get_extra_info("sockname")[1] for t in (echo, server)])
        await loop.run_in_executor(None, stop.wait)

    asyncio.run(run())


def _servers(key: X25519PrivateKey, relay_key: bytes, data_dir: Path) -> tuple[int, int, Any]:
    """Start the echo and the reset service in a process of their own, as a real server is
    (in one process the client and the server would wait for each other's GIL); their
    ports, and a stop."""
    context = multiprocessing.get_context("spawn")
    ports, stop = context.Queue(), context.Event()
    process = context.Process(
        target=_serve, args=(_raw_bytes(key), relay_key, data_dir, ports, stop)
    )
    process.start()
    echo_port, server_port = ports.get(timeout=30)

    def end() -> None:
        stop.set()
        process.join(10)

    return echo_port, server_port, end


def _raw_bytes(key: X25519PrivateKey) -> bytes:
    return key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def _measure(requests: int, data_dir: Path) -> tuple[list[float], list[float]]:
    key = generate_private_key()
    relay_key = os.urandom(32)
    echo_port, server_port, stop = _servers(key, relay_key, data_dir)
    ping = Request(op="ping", vdir="", client_ip="", body={})
    payload = seal_request(ping, key.public_key(), relay_key=relay_key)[0]
    raw: list[float] = []
    sealed: list[float] = []
    try:
        for index in range(requests + requests // 10):
            started = time.perf_counter()
            await _raw(("127.0.0.1", echo_port), payload)
            middle = time.perf_counter()
            request = Request(op="ping", vdir="", client_ip="", body={})
            await exchange(request, ("127.0.0.1", server_port), key.public_key(),
                           relay_key=relay_key, timeout=2.0, attempts=1)  # fmt: skip
            done = time.perf_counter()
            if index >= requests // 10:  # the first tenth warms up
                raw.append((middle - started) * 1000)
                sealed.append((done - middle) * 1000)
    finally:
        stop()
    return raw, sealed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.data_dir) as folder:
        raw, sealed = asyncio.run(_measure(args.requests, Path(folder)))
    passed = True
    for name, share in (("p50", 0.50), ("p99", 0.99)):
        mine, base = _percentile(sealed, share), _percentile(raw, share)
        print(f"sealed request/reply {name}: {mine:.3f} ms "
              f"(baseline {base:.3f} ms raw UDP echo, ratio {mine / base:.2f})")  # fmt: skip
        if name == "p99":
            added = mine - base
            passed = added <= GOAL_MS
            verdict = "PASS" if passed else "FAIL"
            print(f"added by sealing and the server at p99: {added:.3f} ms "
                  f"(baseline 0 ms, goal <= {GOAL_MS} ms: {verdict})")  # fmt: skip
    print(f"mean: {statistics.fmean(sealed):.3f} ms (baseline {statistics.fmean(raw):.3f} ms, "
          f"ratio {statistics.fmean(sealed) / statistics.fmean(raw):.2f})")  # fmt: skip
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
