"""The relay's side of one exchange: send a sealed request over UDP, resend it until a
reply opens, give up with ServerUnreachable."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

from .errors import ProtocolError
from .messages import Reply, Request
from .sealing import MAX_DATAGRAM, ReplyKey, open_reply, seal_request

__all__ = [
    "ATTEMPTS",
    "MAX_TIMEOUT",
    "TIMEOUT",
    "Answer",
    "ServerUnreachable",
    "exchange",
    "exchange_any",
    "waits",
]

log = logging.getLogger(__name__)

# The relay's resend schedule, [web] timeout / max_timeout / attempts: the first resend
# after TIMEOUT seconds, the wait doubled after each send up to MAX_TIMEOUT (by default: no
# doubling), ATTEMPTS sends in all. Sized for a lossy DMZ link (bench/loss.py): with 20 % of
# datagrams lost each way a request fails only if all 30 sends or their replies are lost
# (0.36 ** 30, never in practice), and a lost datagram costs a user half a second. The 15 s
# in all are as patient as the earlier waits of 1, 2, 4 and 8 s with a server working
# through a queue (docs/performance.md), and well within the pages' 30 s. Resends of a
# request the server is still working on cost it one unsealing each, and are dropped.
TIMEOUT = 0.5
MAX_TIMEOUT = 0.5
ATTEMPTS = 30
BACKOFF = 2.0


def _host_port(address: tuple[str, int]) -> str:
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class ServerUnreachable(Exception):  # noqa: N818 (public name used by pwreset.api)
    """No reply that opens came back from the server (or it could not even be addressed)."""

    def __init__(self, address: tuple[str, int], attempts: int, reason: str = "") -> None:
        self.address = address
        self.attempts = attempts
        where = _host_port(address)
        if reason:
            message = f"cannot reach the pwreset server at {where}: {reason}"
        else:
            message = f"no reply from the pwreset server at {where} after {attempts} attempts"
        super().__init__(message)


class _ReplyListener(asyncio.DatagramProtocol):
    """Resolves `future` with the first datagram that opens as the awaited reply."""

    def __init__(self, reply_key: ReplyKey, future: asyncio.Future[Reply]) -> None:
        self._reply_key = reply_key
        self._future = future

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        if self._future.done():
            return  # a late duplicate answering one of our resends
        try:
            reply = open_reply(data, self._reply_key)
        except ProtocolError as exc:
            # Stray or forged traffic must not end the exchange; the real reply may follow.
            log.debug("ignored a datagram that does not open (%s): %s", exc.reason, exc)
            return
        self._future.set_result(reply)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable arrives as ConnectionRefusedError: the server may be
        # restarting, so the next resend may well be answered.
        log.debug("send to the pwreset server failed: %s", exc)


def waits(
    timeout: float = TIMEOUT,
    attempts: int = ATTEMPTS,
    *,
    backoff: float = BACKOFF,
    max_timeout: float = MAX_TIMEOUT,
) -> list[float]:
    """Seconds waited for a reply after each send: `timeout`, then `backoff` times the
    previous wait, never more than `max_timeout` (nor, for a cap below it, than `timeout`).
    Their sum is how long a request waits for a server that does not answer."""
    if attempts < 1 or timeout <= 0 or backoff < 1:
        raise ValueError("exchange needs attempts >= 1, timeout > 0 and backoff >= 1")
    cap = max(max_timeout, timeout)
    return [min(timeout * backoff**n, cap) for n in range(attempts)]


async def exchange(
    request: Request,
    address: tuple[str, int],
    server_key: X25519PublicKey,
    *,
    relay_key: bytes | None = None,
    timeout: float = TIMEOUT,
    attempts: int = ATTEMPTS,
    backoff: float = BACKOFF,
    max_timeout: float = MAX_TIMEOUT,
    max_size: int = MAX_DATAGRAM,
) -> Reply:
    """Seal `request` once and send it to `address` (host or IP literal, port), resending
    the same datagram while no reply comes, on the schedule of `waits()`. The server
    answers a resend from its reply cache, so retrying never repeats an effect. Raises
    ServerUnreachable when no reply opens in time."""
    schedule = waits(timeout, attempts, backoff=backoff, max_timeout=max_timeout)
    answer = await exchange_any(
        request,
        [address],
        server_key,
        schedule=schedule,
        per_server=attempts,
        relay_key=relay_key,
        max_size=max_size,
    )
    return answer.reply


@dataclass(frozen=True)
class Answer:
    reply: Reply
    server: tuple[str, int]  # the server that answered
    silent: tuple[tuple[str, int], ...]  # those asked before it, in vain


async def exchange_any(
    request: Request,
    servers: Sequence[tuple[str, int]],
    server_key: X25519PublicKey,
    *,
    schedule: Sequence[float],
    per_server: int,
    relay_key: bytes | None = None,
    max_size: int = MAX_DATAGRAM,
) -> Answer:
    """Seal `request` once and send the same datagram on `schedule` (the wait after each
    send), `per_server` sends to each of `servers` in turn, round again while the schedule
    lasts. Servers sharing one database answer a resend that reaches another server with
    the first one's reply, so moving on never repeats an effect (docs/storage.md). Raises
    ServerUnreachable (naming the first server) when no reply opens in time."""
    datagram, reply_key = seal_request(request, server_key, relay_key=relay_key, max_size=max_size)
    loop = asyncio.get_running_loop()
    reply: asyncio.Future[Reply] = loop.create_future()
    # One connected socket per server and exchange: the kernel drops datagrams from other
    # peers, a server asked again sees the same source port (it answers retries only to
    # it), and a hostname is resolved here, each time, so DNS changes are followed.
    sockets: dict[tuple[str, int], asyncio.DatagramTransport | None] = {}
    silent: list[tuple[str, int]] = []
    reasons: list[str] = []
    try:
        for index, wait in enumerate(schedule):
            server = servers[(index // per_server) % len(servers)]
            if server not in sockets:
                sockets[server] = await _connect(server, reply_key, reply, reasons)
            transport = sockets[server]
            if transport is not None:
                transport.sendto(datagram)
                done, _pending = await asyncio.wait({reply}, timeout=wait)
                if done:
                    asked = tuple(s for s in silent if s != server)
                    return Answer(reply.result(), server, asked)
            if server not in silent:
                silent.append(server)
    finally:
        for transport in sockets.values():
            if transport is not None:
                transport.close()
    if len(servers) == 1 and reasons and not any(sockets.values()):
        raise ServerUnreachable(servers[0], 0, reasons[0])
    raise ServerUnreachable(servers[0], len(schedule))


async def _connect(
    server: tuple[str, int], reply_key: ReplyKey, reply: asyncio.Future[Reply], reasons: list[str]
) -> asyncio.DatagramTransport | None:
    """A socket connected to `server`, or None (its reason noted) if it cannot be made."""
    loop = asyncio.get_running_loop()
    try:
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _ReplyListener(reply_key, reply), remote_addr=server
        )
    except OSError as exc:
        reasons.append(exc.strerror or type(exc).__name__)
        return None
    return transport
