"""The relay's side of one exchange: send a sealed request over UDP, resend it until a
reply opens, give up with ServerUnreachable."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

from .errors import ProtocolError
from .messages import Reply, Request
from .sealing import MAX_DATAGRAM, ReplyKey, open_reply, seal_request

__all__ = ["ATTEMPTS", "MAX_TIMEOUT", "TIMEOUT", "ServerUnreachable", "exchange", "waits"]

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
    datagram, reply_key = seal_request(request, server_key, relay_key=relay_key, max_size=max_size)
    loop = asyncio.get_running_loop()
    reply: asyncio.Future[Reply] = loop.create_future()
    try:
        # One connected socket per exchange: the kernel drops datagrams from other peers,
        # and a hostname is resolved here, each time, so DNS changes are followed.
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _ReplyListener(reply_key, reply), remote_addr=address
        )
    except OSError as exc:
        raise ServerUnreachable(address, 0, exc.strerror or type(exc).__name__) from None
    try:
        for wait in schedule:
            transport.sendto(datagram)
            done, _pending = await asyncio.wait({reply}, timeout=wait)
            if done:
                return reply.result()
    finally:
        transport.close()
    raise ServerUnreachable(address, attempts)
