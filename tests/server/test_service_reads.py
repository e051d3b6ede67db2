"""Requests that only read cost the server no disk sync, and the liveness ping is answered
on the event loop, so a health check does not wait behind slow flows (unit level, a real
socket on loopback)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from pwreset.protocol.client import exchange
from pwreset.protocol.keys import Keyring, generate_private_key
from pwreset.protocol.messages import Reply, Request
from pwreset.server.service import ResetService
from pwreset.server.storage.replay_journal import ReplayJournal

RELAY_KEY = b"\x05" * 32


class _CountingJournal(ReplayJournal):
    def __init__(self, directory: Path) -> None:
        super().__init__(directory, 60.0)
        self.recorded: list[bytes] = []

    def record(
        self, request_id: bytes, timestamp: float, digest: bytes = b"", origin: str = ""
    ) -> None:
        self.recorded.append(request_id)
        super().record(request_id, timestamp, digest, origin)


class _Flows:
    """Stands in for the flows: `reset.start` waits until the test releases it."""

    def __init__(self) -> None:
        self.context = SimpleNamespace(db=SimpleNamespace(require_room=lambda: None))
        self.release = threading.Event()

    def reply_floor(self, request: Request) -> float:
        return 0.0

    def dispatch(self, request: Request) -> Reply:
        if request.op == "reset.start":
            self.release.wait(10)
        return Reply(request.request_id, result={"op": request.op})


async def _serving(flows: _Flows, journal: ReplayJournal) -> tuple[Any, int]:
    key = generate_private_key()
    service = ResetService(flows, Keyring([key]), relay_key=RELAY_KEY,  # type: ignore[arg-type]
                           allow_unauthenticated=False, journal=journal, clock_skew=60,
                           max_datagram=32768, workers=1)  # fmt: skip
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: service, local_addr=("127.0.0.1", 0))
    return (transport, key), transport.get_extra_info("sockname")[1]


async def _ask(key: Any, port: int, op: str, timeout: float = 2.0) -> Reply:
    request = Request(op=op, vdir="pwreset", client_ip="", body={})
    return await exchange(request, ("127.0.0.1", port), key.public_key(), relay_key=RELAY_KEY,
                          timeout=timeout, attempts=1)  # fmt: skip


def test_reads_are_not_journaled_and_writes_are(tmp_path: Path) -> None:
    journal = _CountingJournal(tmp_path / "replay")
    flows = _Flows()
    flows.release.set()

    async def run() -> list[str]:
        (transport, key), port = await _serving(flows, journal)
        try:
            ops = ["ping", "meta", "enrollment_status", "enroll", "change"]
            return [(await _ask(key, port, op)).result["op"] for op in ops]  # type: ignore[index]
        finally:
            transport.close()

    answered = asyncio.run(run())
    assert answered == ["ping", "meta", "enrollment_status", "enroll", "change"]
    # Only the two writes waited for the disk.
    assert len(journal.recorded) == 2


def test_the_ping_is_answered_while_every_worker_is_busy(tmp_path: Path) -> None:
    flows = _Flows()

    async def run() -> tuple[Reply, bool]:
        (transport, key), port = await _serving(flows, ReplayJournal(tmp_path / "r", 60.0))
        try:
            slow = asyncio.create_task(_ask(key, port, "reset.start", timeout=5.0))
            await asyncio.sleep(0.2)  # the one worker is now inside reset.start
            pong = await _ask(key, port, "ping", timeout=1.0)
            still_busy = not slow.done()
            flows.release.set()
            await slow
            return pong, still_busy
        finally:
            flows.release.set()
            transport.close()

    pong, still_busy = asyncio.run(run())
    assert pong.result == {"op": "ping"}
    assert still_busy
