"""The UDP service: opens sealed requests, drops bad ones, answers retries from cache, and
dispatches each request to its flow.

Directory work is blocking (ldap3), so it runs in a thread pool; the event loop only moves
datagrams. A retry (same request id) is answered from the reply cache or, while the first
copy is still being handled, dropped: a retry never doubles an effect. Only a retry from
the request's own address is answered.

Relays prove themselves with the relay key. When the admin allows unauthenticated relays,
a request sealed without it is still served, but what only the relay can vouch for (the
end user's address, the web user) is dropped here, so no flow records it as a fact.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, cast

from pwreset.protocol.errors import (
    BadSeal,
    MisdirectedRetry,
    Overloaded,
    OversizedDatagram,
    ProtocolError,
)
from pwreset.protocol.keys import Keyring
from pwreset.protocol.messages import Failure, Reply, Request
from pwreset.protocol.replay import ReplayGuard, ReplyCache
from pwreset.protocol.sealing import ReplyKey, open_request, seal_reply
from pwreset.protocol.trace import TRACE_FIELD, current_trace, new_trace_id, trace_of
from pwreset.server.directory.base import DirectoryError
from pwreset.server.flows import admin, change, enroll, helpdesk, meta, recovery
from pwreset.server.flows.context import FlowContext
from pwreset.server.flows.errors import FlowError
from pwreset.server.rejections import INTERVAL, RejectionLog
from pwreset.server.storage import StorageFullError
from pwreset.server.storage.store import RequestJournal

log = logging.getLogger("pwreset.server")
flow_log = logging.getLogger("pwreset.flows")

Operation = Callable[[FlowContext, Request], Mapping[str, Any]]

OPERATIONS: dict[str, Operation] = {
    "ping": meta.ping,
    "meta": meta.meta,
    "change": change.change,
    "enroll": enroll.enroll,
    "enroll.start": enroll.start,
    "enroll.factor": enroll.factor,
    "reset.start": lambda ctx, r: recovery.start(ctx, r, "reset"),
    "reset.step": lambda ctx, r: recovery.step(ctx, r, "reset"),
    "unlock.start": lambda ctx, r: recovery.start(ctx, r, "unlock"),
    "unlock.step": lambda ctx, r: recovery.step(ctx, r, "unlock"),
    "enrollment_status": meta.enrollment_status,
    admin.UNLOCK: admin.unlock,
    admin.NOTE: admin.note,
    **helpdesk.OPERATIONS,
}
# Operations that belong to no site: the liveness check and the console's admin requests.
_SITELESS = frozenset({"ping", admin.UNLOCK, admin.NOTE, *helpdesk.OPERATIONS})
# Operations that store nothing: still served while the data folder is full.
READ_ONLY_OPERATIONS = frozenset({"ping", "meta", "enrollment_status"})
# Served on the event loop, not in a worker: the liveness check answers at once even while
# every worker is in a slow flow (Argon2, a directory timeout), so a health probe does not
# take a busy server for a dead one.
INLINE_OPERATIONS = frozenset({"ping"})
# Operations whose replies are held back to `security.reply_floor_ms` after the request
# arrived. Whoever is asked for (unknown, unenrolled, enrolled, locked out), the work differs
# a little: a directory entry found or not, a record written, an alert queued; what is left
# to time is the floor.
PACED_OPERATIONS = frozenset({"reset.start", "reset.step", "unlock.start", "unlock.step"})

# Requests held at once (waiting for a worker, being handled, or held to the reply floor),
# per worker. Past it a datagram is dropped before the replay guard sees it, so the relay's
# retry gets in once there is room. A flood (a stolen relay key, or a crowd through many
# relays) then costs bounded memory, and workers do not run requests whose relay gave up
# long ago: 64 per worker is a few seconds of the slowest work, about the relay's patience.
MAX_PENDING_PER_WORKER = 64


class Flows:
    """Runs one opened request's operation (in a worker thread) and builds the reply: a
    result, or the stable code of what went wrong."""

    def __init__(self, context: FlowContext) -> None:
        self.context = context

    def reply_floor(self, request: Request) -> float:
        """Seconds the reply to `request` must not come sooner than."""
        if request.op not in PACED_OPERATIONS:
            return 0.0
        return self.context.config.security.reply_floor_ms / 1000.0

    def dispatch(self, request: Request) -> Reply:
        try:
            if request.vdir not in self.context.config.sites and request.op not in _SITELESS:
                raise FlowError("unknown_site")
            operation = OPERATIONS.get(request.op)
            if operation is None:
                raise FlowError("bad_request", f"unknown operation {request.op[:32]!r}")
            return Reply(request.request_id, result=operation(self.context, request))
        except FlowError as exc:
            return Reply(request.request_id, failure=Failure(exc.code, exc.detail, exc.params))
        except DirectoryError as exc:
            params = {"reason": exc.reason} if exc.reason else {}
            return Reply(request.request_id, failure=Failure(exc.code, "", params))
        except StorageFullError as exc:
            # Admitted with room to spare, then the disk filled (another process?): this
            # write is refused whole, the ones before it stand.
            flow_log.error("operation %s: %s", request.op[:32], exc)
            return Reply(request.request_id, failure=Failure("storage_full"))
        except Exception:
            flow_log.exception("operation %s failed", request.op[:32])
            return Reply(request.request_id, failure=Failure("server_error"))


@dataclass
class Counters:
    received: int = 0
    answered: int = 0
    retries: int = 0
    rejected: dict[str, int] = field(default_factory=dict)


class ResetService(asyncio.DatagramProtocol):
    def __init__(
        self,
        flows: Flows,
        keyring: Keyring,
        *,
        relay_key: bytes | None,
        allow_unauthenticated: bool,
        journal: RequestJournal,
        clock_skew: float,
        max_datagram: int,
        workers: int,
    ) -> None:
        if relay_key is None and not allow_unauthenticated:
            raise ValueError("without a relay key, unauthenticated relays must be allowed")
        self._flows = flows
        self._keyring = keyring
        self._relay_key = relay_key
        self._allow_unauthenticated = allow_unauthenticated
        self._max = max_datagram
        self._journal = journal
        self._replays = ReplayGuard(window=clock_skew)
        self._replays.restore(journal.restored)
        # Kept twice as long as a timestamp is acceptable, so every valid retry finds it.
        self._replies = ReplyCache(ttl=2 * clock_skew)
        # Requests being handled, with the address their retries are accepted from.
        self._in_flight: dict[bytes, tuple[Any, ...]] = {}
        self._max_pending = workers * MAX_PENDING_PER_WORKER
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="flow")
        self._transport: asyncio.DatagramTransport | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False
        self.counters = Counters()
        self._storage_full = False  # for the log: refusing writes for lack of room
        self._rejections = RejectionLog(log)
        self._summary: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.counters.received += 1
        if self._stopping:
            return  # only what is already in flight is finished and answered
        try:
            request, reply_key = self._open(data)
        except ProtocolError as exc:
            self._reject(exc, addr, len(data))
            return
        # A retry is the very same datagram; another datagram reusing a request id is a
        # replay, and goes on to be rejected by the replay guard.
        retry_key = request.request_id + hashlib.sha256(data).digest()[:16]
        cached = self._replies.get(retry_key)
        origin = cached.origin if cached is not None else self._in_flight.get(retry_key)
        if origin is not None and origin[:2] != addr[:2]:
            # Anyone on the path can resend a datagram with a forged source address.
            self._reject(MisdirectedRetry("a retry from another address"), addr, len(data))
            return
        if cached is not None:
            self.counters.retries += 1
            self._send(cached.sealed, addr)
            return
        if origin is not None:
            self.counters.retries += 1
            return
        if len(self._in_flight) >= self._max_pending:
            self._reject(Overloaded(f"{self._max_pending} requests are being handled"), addr,
                         len(data))  # fmt: skip
            return
        try:
            self._replays.check(request)
        except ProtocolError as exc:
            self._reject(exc, addr, len(data))
            return
        self._in_flight[retry_key] = addr
        task = asyncio.get_running_loop().create_task(
            self._handle(request, reply_key, addr, retry_key)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _open(self, data: bytes) -> tuple[Request, ReplyKey]:
        if self._relay_key is not None:
            try:
                return open_request(
                    data, self._keyring, relay_key=self._relay_key, max_size=self._max
                )
            except BadSeal:
                if not self._allow_unauthenticated:
                    raise
        request, reply_key = open_request(data, self._keyring, max_size=self._max)
        return _unverified(request), reply_key

    def error_received(self, exc: Exception) -> None:
        # ICMP errors for replies to relays that went away; nothing to do but note it.
        log.debug("UDP error: %s", exc)

    async def _handle(
        self, request: Request, reply_key: ReplyKey, addr: tuple[str, int], retry_key: bytes
    ) -> None:
        try:
            loop = asyncio.get_running_loop()
            not_before = loop.time() + self._flows.reply_floor(request)
            try:
                if request.op in INLINE_OPERATIONS:
                    sealed = self._run(request, reply_key, retry_key, str(addr[0]))
                else:
                    sealed = await loop.run_in_executor(
                        self._executor, self._run, request, reply_key, retry_key, str(addr[0])
                    )
            except ProtocolError as exc:
                # Another server on a shared journal already accepted this very request.
                self._reject(exc, addr, 0)
                return
            # Held back to the floor here, not in a worker: waiting costs no thread.
            if (rest := not_before - loop.time()) > 0:
                await asyncio.sleep(rest)
            self._replies.put(retry_key, sealed, addr)
            self.counters.answered += 1
            self._send(sealed, addr)
        except Exception:
            log.exception("request from %s:%s could not be answered", *addr[:2])
        finally:
            self._in_flight.pop(retry_key, None)

    def _run(self, request: Request, reply_key: ReplyKey, retry_key: bytes, origin: str) -> bytes:
        """In a worker thread: serve the request under its request id (the relay's, or a new
        one for a request without), and log one line for it; the sealed reply."""
        token = current_trace.set(trace_of(request.body) or new_trace_id())
        started = time.monotonic()
        try:
            sealed, outcome = self._serve(request, reply_key, retry_key, origin)
            level = logging.DEBUG if request.op == "ping" else logging.INFO
            took = (time.monotonic() - started) * 1000
            log.log(level, "%s for site %s from %s: %s in %.0f ms", request.op[:32],
                    request.vdir or "-", request.client_ip or "-", outcome, took)  # fmt: skip
            return sealed
        finally:
            current_trace.reset(token)

    def _serve(
        self, request: Request, reply_key: ReplyKey, retry_key: bytes, origin: str
    ) -> tuple[bytes, str]:
        """Make the acceptance durable, then run the flow, so a restart never lets this
        datagram's effect happen twice; the sealed reply and its outcome for the log.

        On a shared journal the acceptance, the flow's writes and the reply are one unit
        (`RequestJournal.unit`): a retry of this datagram that the relay's failover sends to
        another server is answered there with this reply, or, if this server died before
        the unit was done, run there afresh.

        With the data folder (nearly) full, a request that may write is refused before it
        starts, so no flow stops halfway (a wrong answer it cannot count, a password reset it
        cannot audit). One that only reads (a page's meta, a health check's ping) is served
        without being recorded: replayed after a restart it would change nothing, the replay
        guard in memory refuses it until then, and the disk is spared a sync per page load."""
        if request.op in READ_ONLY_OPERATIONS:
            return self._seal(self._flows.dispatch(request), reply_key)
        with self._journal.unit():
            try:
                self._flows.context.db.require_room()
                digest = retry_key[len(request.request_id) :]
                answered = self._journal.record(
                    request.request_id, request.timestamp, digest, origin
                )
            except StorageFullError as exc:
                self._note_full(exc)
                return self._seal(Reply(request.request_id, failure=Failure("storage_full")),
                                  reply_key)  # fmt: skip
            except OSError:
                log.exception("could not record the request in the replay journal; not handled")
                failure = Failure("server_error", "the server could not record the request")
                return self._seal(Reply(request.request_id, failure=failure), reply_key)
            else:
                self._note_room()
                if answered is not None:
                    return answered, "answered before by another server"
            sealed, outcome = self._seal(self._flows.dispatch(request), reply_key)
            self._journal.answered(request.request_id, sealed)
        return sealed, outcome

    def _seal(self, reply: Reply, reply_key: ReplyKey) -> tuple[bytes, str]:
        """The sealed reply, and its outcome for the log."""
        outcome = reply.failure.code if reply.failure is not None else "ok"
        try:
            return seal_reply(reply, reply_key, max_size=self._max), outcome
        except OversizedDatagram:
            log.error("the reply to a request is larger than max_datagram")
            failure = Failure("server_error", "the reply was too large to send")
            return seal_reply(Reply(reply.request_id, failure=failure), reply_key), "server_error"

    def _note_full(self, exc: StorageFullError) -> None:
        # Once per episode: a refused request each time would flood a log that may well
        # live on the same full disk.
        if not self._storage_full:
            self._storage_full = True
            log.error("%s; requests that would write are refused until there is room", exc)

    def _note_room(self) -> None:
        if self._storage_full:
            self._storage_full = False
            log.warning("the data folder has room again: requests that write are served")

    def _send(self, datagram: bytes, addr: tuple[str, int]) -> None:
        if self._transport is None or self._transport.is_closing():
            log.warning("the reply to %s:%s was not sent: the socket is closed", *addr[:2])
            return
        self._transport.sendto(datagram, addr)

    def _reject(self, exc: ProtocolError, addr: tuple[str, int], size: int) -> None:
        reason = exc.reason
        self.counters.rejected[reason] = self.counters.rejected.get(reason, 0) + 1
        if self._rejections.note(reason, addr, size) and self._summary is None:
            loop = asyncio.get_running_loop()
            self._summary = loop.call_later(INTERVAL, self._summarise_rejections)

    def _summarise_rejections(self) -> None:
        self._summary = None
        self._rejections.flush()

    async def drain(self) -> None:
        """Take no new request, answer those being handled, then stop the worker threads.
        Call it before closing the socket: a flow that finished deserves its reply."""
        self._stopping = True
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._summary is not None:
            self._summary.cancel()
        self._rejections.flush()
        self._executor.shutdown(wait=True, cancel_futures=True)
        self._journal.close()


def _unverified(request: Request) -> Request:
    """A request from a relay that did not prove itself: its claims about the end user
    (address, web user) and its request id are the sender's word only, so they are not
    passed on."""
    body = {k: v for k, v in request.body.items() if k not in ("web_user", TRACE_FIELD)}
    return replace(request, client_ip="", body=body)
