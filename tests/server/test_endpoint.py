"""The server's UDP endpoint (server/endpoint.py) when the socket's send buffer is full:
replies wait and leave in order once there is room, and what waits is bounded. (Replies
from the address asked are proven across namespaces in test_reply_address.py.)"""

from __future__ import annotations

import asyncio
import socket
from typing import Any, cast

import pytest

from pwreset.server import endpoint
from pwreset.server.endpoint import Sender, UdpEndpoint


class _FullAtFirst:
    """A UDP socket whose send buffer is full for its first `full_for` sends."""

    def __init__(self, full_for: int) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)
        self.full_for = full_for

    def sendmsg(self, *args: Any) -> int:
        if self.full_for:
            self.full_for -= 1
            raise BlockingIOError
        return self.sock.sendmsg(*args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sock, name)


def _received(receiver: socket.socket) -> list[bytes]:
    got = []
    receiver.settimeout(0.05)
    try:
        while True:
            got.append(receiver.recv(100))
    except TimeoutError:
        return got


@pytest.mark.parametrize(
    ("limit", "delivered"), [(100, [b"one", b"two", b"three"]), (6, [b"one", b"two"])]
)
def test_replies_wait_for_room_in_order_up_to_a_bound(
    monkeypatch: pytest.MonkeyPatch, limit: int, delivered: list[bytes]
) -> None:
    monkeypatch.setattr(endpoint, "_MAX_QUEUED_BYTES", limit)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as relay:
        relay.bind(("127.0.0.1", 0))
        to = Sender(relay.getsockname(), [])

        async def send() -> int:
            full = _FullAtFirst(full_for=2)
            udp = UdpEndpoint(cast(socket.socket, full), asyncio.DatagramProtocol())
            for reply in (b"one", b"two", b"three"):
                udp.sendto(reply, to)
            waiting = udp.get_write_buffer_size()
            for _ in range(3):  # the loop's turns: the writer callback runs
                await asyncio.sleep(0)
            udp.close()
            return waiting

        waiting = asyncio.run(send())
        assert waiting == sum(map(len, delivered))
        assert _received(relay) == delivered
