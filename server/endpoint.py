"""The server's UDP socket, which answers every datagram from the address it was sent to.

A server listening on a wildcard address (0.0.0.0, ::) receives on every address of its
host, but a plain reply leaves from the address the routing table picks for the relay,
mostly the host's primary one. The relay's socket is connected to the address it asked,
so its kernel drops that reply, and the server seems dead through every other address: a
second address, or the floating address (VIP) of a highly available pair.

So each datagram's local address is read from the kernel (IP_PKTINFO, IPV6_PKTINFO) and
handed back as its reply's source. This and not a socket per address, because addresses
come and go while the server runs: on failover the VIP moves to this host after the server
started, and sockets per address would have to follow the host's addresses (netlink) and
would miss what arrives in between; the one wildcard socket receives on every address the
host has, now or later. `::` also takes IPv4 (as mapped addresses), so one socket serves
both families.

asyncio's datagram transport neither reads nor sends ancillary data, so this is a small
transport of its own on the loop's reader and writer callbacks. For the protocol the
contract is asyncio's: `datagram_received(data, sender)`, `error_received(exc)`,
`sendto(data, sender)` that queues while the socket's buffer is full.
"""

from __future__ import annotations

import asyncio
import collections
import errno
import logging
import socket
import sys
from typing import Any

log = logging.getLogger("pwreset.server")

# Python names IP_PKTINFO only from 3.13; Linux's value is 8.
_IP_PKTINFO: int | None = getattr(socket, "IP_PKTINFO", 8 if sys.platform == "linux" else None)
_IPV4_PKTINFO_SIZE = 12  # struct in_pktinfo: ifindex, local address, header destination
_IPV6_PKTINFO_SIZE = 20  # struct in6_pktinfo: address, ifindex
# Any UDP datagram fits (the service refuses what is larger than its max_datagram).
_RECEIVE_SIZE = 65536
_ANCILLARY_SIZE = socket.CMSG_SPACE(_IPV6_PKTINFO_SIZE)
# Datagrams read per wake-up: fewer system calls under load, and the loop still gets its turn.
_READ_BATCH = 64
# Replies queued while the socket's send buffer is full. Past it a reply is dropped: the
# relay resends, and its retry is answered from the service's reply cache.
_MAX_QUEUED_BYTES = 4 << 20

Ancillary = list[tuple[int, int, bytes]]


class Sender(tuple[Any, ...]):
    """A datagram's source as `socket.recvfrom` gives it (so it compares, slices and prints
    as before), with `reply_from`: the ancillary data that makes its reply leave from the
    address the datagram was sent to (empty where that is unknown)."""

    reply_from: Ancillary

    def __new__(cls, address: tuple[Any, ...], reply_from: Ancillary) -> Sender:
        sender = super().__new__(cls, address)
        sender.reply_from = reply_from
        return sender


def _reply_from(ancillary: Ancillary) -> Ancillary:
    """The received packet info, made the reply's: the same local address, and interface 0
    so routing picks the way out (the way in may not lead back to the relay)."""
    for level, kind, data in ancillary:
        if level == socket.IPPROTO_IP and kind == _IP_PKTINFO:
            return [(level, kind, bytes(4) + data[4:_IPV4_PKTINFO_SIZE])]
        if level == socket.IPPROTO_IPV6 and kind == socket.IPV6_PKTINFO:
            return [(level, kind, data[:16] + bytes(4))]
    return []


class UdpEndpoint(asyncio.DatagramTransport):
    def __init__(self, sock: socket.socket, protocol: asyncio.DatagramProtocol) -> None:
        super().__init__()
        self._sock = sock
        self._protocol = protocol
        self._loop = asyncio.get_running_loop()
        self._queue: collections.deque[tuple[bytes, Sender]] = collections.deque()
        self._queued_bytes = 0
        self._closing = False
        protocol.connection_made(self)
        self._loop.add_reader(sock.fileno(), self._read_ready)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name == "socket":
            return self._sock
        if name == "sockname":
            return self._sock.getsockname()
        return default

    def is_closing(self) -> bool:
        return self._closing

    def get_write_buffer_size(self) -> int:
        return self._queued_bytes

    def _read_ready(self) -> None:
        for _ in range(_READ_BATCH):
            if self._closing:
                return
            try:
                data, ancillary, _, address = self._sock.recvmsg(_RECEIVE_SIZE, _ANCILLARY_SIZE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self._protocol.error_received(exc)
                return
            self._protocol.datagram_received(data, Sender(address, _reply_from(ancillary)))

    def sendto(self, data: Any, addr: Any = None) -> None:
        if self._closing:
            return
        data = bytes(data)
        sender = addr if isinstance(addr, Sender) else Sender(addr, [])
        if not self._queue:
            try:
                self._send(data, sender)
                return
            except (BlockingIOError, InterruptedError):
                self._loop.add_writer(self._sock.fileno(), self._write_ready)
            except OSError as exc:
                self._protocol.error_received(exc)
                return
        if self._queued_bytes + len(data) > _MAX_QUEUED_BYTES:
            log.debug("the send buffer is full: a reply to %s:%s is dropped", *sender[:2])
            return
        self._queue.append((data, sender))
        self._queued_bytes += len(data)

    def _send(self, data: bytes, sender: Sender) -> None:
        try:
            self._sock.sendmsg([data], sender.reply_from, 0, sender)
        except OSError as exc:
            # The address is gone since the request came (a VIP moved away): the reply can
            # only leave from another one, which the relay drops. Say so, not just "failed".
            if exc.errno == errno.EADDRNOTAVAIL and sender.reply_from:
                raise OSError(exc.errno, f"{exc.strerror}: the address asked is gone") from exc
            raise

    def _write_ready(self) -> None:
        while self._queue:
            data, sender = self._queue[0]
            try:
                self._send(data, sender)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self._protocol.error_received(exc)
            self._queue.popleft()
            self._queued_bytes -= len(data)
        self._loop.remove_writer(self._sock.fileno())

    def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        self._loop.remove_reader(self._sock.fileno())
        self._loop.remove_writer(self._sock.fileno())
        self._queue.clear()
        self._queued_bytes = 0
        self._sock.close()
        self._loop.call_soon(self._protocol.connection_lost, None)

    def abort(self) -> None:
        self.close()


async def open_endpoint(protocol: asyncio.DatagramProtocol, host: str, port: int) -> UdpEndpoint:
    """A socket bound to `host:port` (a name is resolved, IPv4 unless it holds a colon),
    replying from the address asked, serving `protocol`."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    loop = asyncio.get_running_loop()
    found = await loop.getaddrinfo(host, port, family=family, type=socket.SOCK_DGRAM)
    address = found[0][4]
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        if family == socket.AF_INET6 and address[0] == "::":
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        _receive_packet_info(sock, family)
        sock.bind(address)
        return UdpEndpoint(sock, protocol)
    except BaseException:
        sock.close()
        raise


def _receive_packet_info(sock: socket.socket, family: socket.AddressFamily) -> None:
    """Ask the kernel for each datagram's local address (on a dual-stack socket IPv6's
    option covers IPv4 too); where it cannot be had, the server still runs, as before."""
    try:
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
        elif _IP_PKTINFO is not None:
            sock.setsockopt(socket.IPPROTO_IP, _IP_PKTINFO, 1)
        else:
            raise OSError(errno.ENOPROTOOPT, "IP_PKTINFO is not known on this system")
    except OSError as exc:
        log.warning(
            "replies leave from the address the routing table picks, not always the one "
            "asked (%s): on a host with several addresses, listen on the relays' one",
            exc,
        )
