"""Fuzzing the wire (issue 9): a real ResetService (real Flows, store, replay journal and
directory) driven datagram by datagram, with the oracles every fuzzed datagram is judged by.

The harness calls `ResetService.datagram_received` itself, with a transport that records
what the service sends, so it controls source addresses (a second address is one call
away) and measures each call. What it checks:

- crash: an exception out of `datagram_received`, a handling task that died, an ERROR log
  of the server or the flows, or a reply `server_error` (a flow that raised);
- hang: a datagram whose handling (or whose scenario's tasks) take longer than a limit;
- forgery: `Flows.dispatch` seeing a request id the harness did not seal with the relay
  key, or one request id twice; a reply reaching any address but the one the request first
  came from;
- liveness: every valid request is dispatched exactly once, whatever was sent around it;
- memory: the replay guard, the reply cache, the in-flight set, the tasks and the journal's
  files, sampled after every scenario.

`scenarios()` is the hypothesis strategy: each example is a short list of datagrams built
around fresh valid requests (mutations, replays, reorderings, copies from another address,
seals without the relay key or for another key, stale ones) or valid seals around fuzzed
JSON (wrong types, huge numbers, deep nesting, unicode, lone surrogates, missing fields).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import threading
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from pwreset.config import Config, load_config
from pwreset.config.notify_settings import STOCK_ALERT_EVENTS
from pwreset.instance import create_instance
from pwreset.protocol.keys import Keyring, generate_private_key, key_id
from pwreset.protocol.messages import Request, encode_request
from pwreset.protocol.sealing import ReplyKey, open_reply, seal_request
from pwreset.protocol.sealing import _seal_request_plaintext as seal_plaintext
from pwreset.server.runner import prepare
from pwreset.server.service import ResetService
from pwreset.server.storage.replay_journal import REPLAY_DIR, ReplayJournal

from support.stacks import domain_toml

SITE = "pwreset"
# The smallest window the configuration allows: the replay guard, the reply cache and the
# journal's segments turn over every few seconds, so a short run shows them level off.
CLOCK_SKEW = 5
HANG_LIMIT = 10.0  # seconds for one scenario's flows to finish
_MEMORY = 12 * CLOCK_SKEW
USER_PASSWORD = "Fuzz!Passw0rd-1"
ANSWERS = ["Rex the dog", "Springfield", "St. Mary's 42"]

_OPS = [
    "ping",
    "meta",
    "change",
    "enroll",
    "reset.start",
    "unlock.start",
    "reset.step",
    "unlock.step",
    "enrollment_status",
]
_WATCHED_LOGGERS = ("pwreset.server", "pwreset.flows")


VERIFICATION = """
[verification]
enabled = true
auto_enroll = true
sms = true
sms_command = ["/bin/true"]
"""


def fuzz_instance(root: Path, kind: str, lab: Any, *, codes: bool = True) -> Config:
    """An instance on the lab directory with every flow on and a 5 s replay window; with
    `codes`, verification codes too (by SMS to /bin/true), auto-enrollment included, so
    decoys and users reach the code step (each decoy start then costs an Argon2 run)."""
    env = f"PWRESET_TEST_{kind.upper()}_PASSWORD"
    os.environ[env] = lab.service_password
    verification = VERIFICATION if codes else ""
    alerts = "".join(f"\n[alerts.{event}]\nenabled = false\n" for event in STOCK_ALERT_EVENTS)
    text = f"""
[server]
listen = "127.0.0.1:9"
relay_key_file = "keys/relay.key"
clock_skew = {CLOCK_SKEW}

[web]
relay_key_file = "keys/relay.key"

[api]
enrollment_status = true

[security]
lockout_threshold = 0  # the enrolled user stays reachable for the whole run
reply_floor_ms = 0  # the floor's own tests time it; here it would only slow the run

{verification}
[enroll]
email = "optional"
{domain_toml(kind, lab, env)}
[sites.{SITE}]
[sites.closed]
flows = []
{alerts}"""
    create_instance(root, config_text=text)
    return load_config(root / "pwreset.toml")


# --- what the harness sends -------------------------------------------------------------------


@dataclass(frozen=True)
class Send:
    """One datagram from one source address. `vouched` is the request id the harness sealed
    with the relay key (None for everything a forger could make); `valid` marks a request
    the encoder made, which must be dispatched exactly once."""

    datagram: bytes
    addr: tuple[str, int]
    kind: str
    vouched: bytes | None = None
    valid: bool = False
    reply_key: ReplyKey | None = None
    request: Request | None = None


@dataclass
class Stats:
    datagrams: int = 0
    scenarios: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    replies: Counter[str] = field(default_factory=Counter)  # "ok" or the failure code
    dispatched: int = 0
    forgeries: list[str] = field(default_factory=list)
    crashes: list[str] = field(default_factory=list)
    hangs: list[str] = field(default_factory=list)
    liveness: list[str] = field(default_factory=list)
    misdirected: list[str] = field(default_factory=list)
    slowest_call: float = 0.0
    slowest_scenario: float = 0.0
    sizes: dict[str, int] = field(default_factory=dict)  # the largest seen
    final_sizes: dict[str, int] = field(default_factory=dict)

    @property
    def violations(self) -> list[str]:
        return [*self.forgeries, *self.crashes, *self.hangs, *self.liveness, *self.misdirected]


class _Recorder(asyncio.DatagramTransport):
    """The service's transport: keeps what it sends instead of sending it."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[bytes, tuple[str, int]]] = []

    def sendto(self, data: Any, addr: Any = None) -> None:
        self.sent.append((bytes(data), addr))

    def is_closing(self) -> bool:
        return False


class _ErrorLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        error = repr(record.exc_info[1])[:200] if record.exc_info else ""
        self.records.append(f"{record.name}: {record.getMessage()} {error}")


class WireTarget:
    """A ResetService on `config`'s instance, its keyring holding a second (rotated) key."""

    def __init__(self, config: Config) -> None:
        flows, keyring, relay_key = prepare(config)
        assert relay_key is not None
        self.config = config
        self.flows = flows
        self.relay_key = relay_key
        self.server_key = keyring.current.public_key()
        self.old_key = generate_private_key()
        self.keyring = Keyring([keyring.current, self.old_key])
        self.journal_dir = config.path(config.server.data_dir) / REPLAY_DIR
        self.journal = ReplayJournal(self.journal_dir, float(config.server.clock_skew))
        self.service = ResetService(
            flows,
            self.keyring,
            relay_key=relay_key,
            allow_unauthenticated=False,
            journal=self.journal,
            clock_skew=config.server.clock_skew,
            max_datagram=config.server.max_datagram,
            workers=config.server.workers,
        )
        self.transport = _Recorder()
        self.service.connection_made(self.transport)
        self.loop = asyncio.new_event_loop()
        self.stats = Stats()
        self.tokens: list[str] = []  # flow tokens from replies, for fuzzed steps
        self._dispatches: Counter[bytes] = Counter()
        self._lock = threading.Lock()
        # Request ids by when they were sealed or dispatched. Kept for _MEMORY seconds, far
        # past the server's window (a dispatch of an older one is a stale request served,
        # and flagged), so the harness's own memory stays flat over a long run.
        self._vouched: dict[bytes, float] = {}
        self._dispatched_before: dict[bytes, float] = {}
        self._first_addr: dict[bytes, tuple[str, int]] = {}  # datagram digest -> first sender
        self._sends_by_addr: dict[tuple[str, int], Send] = {}
        self._next_addr = 0
        self._errors = _ErrorLog()
        for name in _WATCHED_LOGGERS:
            logging.getLogger(name).addHandler(self._errors)
        dispatch = flows.dispatch

        def counting(request: Request) -> Any:
            with self._lock:
                self._dispatches[request.request_id] += 1
            return dispatch(request)

        flows.dispatch = counting  # type: ignore[method-assign]

    def close(self) -> None:
        self.loop.run_until_complete(self.service.drain())
        self.loop.close()
        self.flows.context.close()
        for name in _WATCHED_LOGGERS:
            logging.getLogger(name).removeHandler(self._errors)

    # --- building datagrams ----------------------------------------------------------------

    def addr(self) -> tuple[str, int]:
        """A source address no other send used: one relay socket per exchange."""
        self._next_addr += 1
        n = self._next_addr
        return (f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}", 1024 + n % 60000)

    def request(self, op: str, body: dict[str, Any], **changes: Any) -> Request:
        base = Request(op=op, vdir=SITE, client_ip="192.0.2.7", body=body)
        return replace(base, **changes)

    def valid(self, request: Request) -> Send:
        datagram, reply_key = seal_request(request, self.server_key, relay_key=self.relay_key)
        return Send(datagram, self.addr(), "valid", request.request_id, True, reply_key, request)

    def sealed_plaintext(self, plaintext: bytes, kind: str = "structured") -> Send:
        """A valid seal (relay key, current server key) around any plaintext."""
        claimed = _claimed_id(plaintext)
        request_id = claimed or os.urandom(16)
        datagram, reply_key = seal_plaintext(
            plaintext, request_id, self.server_key, self.relay_key, 65507
        )
        return Send(datagram, self.addr(), kind, claimed, False, reply_key)

    @property
    def rotated_id(self) -> bytes:
        return key_id(self.old_key.public_key())

    def splice(self) -> bytes:
        return self.valid(self.request("ping", {})).datagram

    # --- running ----------------------------------------------------------------------------

    def run(self, sends: list[Send | None]) -> None:
        """Deliver `sends` in order (None: let the handling tasks finish first), judge."""
        for send in sends:
            if send is None:
                continue
            if send.vouched is not None:
                self._vouched[send.vouched] = time.monotonic()
            self._sends_by_addr.setdefault(send.addr, send)
        started = time.perf_counter()
        self.loop.run_until_complete(self._deliver(sends))
        elapsed = time.perf_counter() - started
        self.stats.slowest_scenario = max(self.stats.slowest_scenario, elapsed)
        self.stats.scenarios += 1
        self._judge(sends)

    async def _deliver(self, sends: list[Send | None]) -> None:
        for send in sends:
            if send is None:
                await self._settle()
                continue
            self.stats.datagrams += 1
            self.stats.kinds[send.kind] += 1
            self._first_addr.setdefault(_digest(send.datagram), send.addr)
            started = time.perf_counter()
            try:
                self.service.datagram_received(send.datagram, send.addr)
            except Exception as exc:
                self.stats.crashes.append(f"datagram_received raised {exc!r} on a {send.kind}")
            took = time.perf_counter() - started
            self.stats.slowest_call = max(self.stats.slowest_call, took)
            # Sampled here too: after a scenario settles nothing is in flight.
            in_flight = len(self.service._in_flight)
            self.stats.sizes["in_flight"] = max(self.stats.sizes.get("in_flight", 0), in_flight)
            if took > HANG_LIMIT:
                self.stats.hangs.append(f"datagram_received took {took:.1f}s on a {send.kind}")
            await asyncio.sleep(0)
        await self._settle()

    async def _settle(self) -> None:
        tasks = set(self.service._tasks)
        if not tasks:
            return
        done, pending = await asyncio.wait(tasks, timeout=HANG_LIMIT)
        if pending:
            self.stats.hangs.append(f"{len(pending)} request(s) unanswered after {HANG_LIMIT}s")
            await asyncio.wait(pending)
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                self.stats.crashes.append(f"a handling task died: {task.exception()!r}")

    def _judge(self, sends: list[Send | None]) -> None:
        stats = self.stats
        stats.rejected = Counter(self.service.counters.rejected)
        with self._lock:
            dispatches = dict(self._dispatches)
            self._dispatches.clear()
        for request_id, count in dispatches.items():
            stats.dispatched += count
            if request_id not in self._vouched:
                stats.forgeries.append(f"dispatched an id never sealed: {request_id.hex()}")
            elif count > 1 or request_id in self._dispatched_before:
                stats.forgeries.append(f"dispatched {request_id.hex()} more than once")
            self._dispatched_before[request_id] = time.monotonic()
        for send in sends:
            if send is not None and send.valid and send.vouched not in self._dispatched_before:
                stats.liveness.append(f"a valid {send.kind} request was never dispatched")
        for data, addr in self.transport.sent:
            self._judge_reply(data, addr)
        self.transport.sent.clear()
        if self._errors.records:
            stats.crashes.extend(self._errors.records)
            self._errors.records.clear()
        self._sample_sizes()
        self._forget_old_ids()

    def _forget_old_ids(self) -> None:
        horizon = time.monotonic() - _MEMORY
        for ids in (self._vouched, self._dispatched_before):
            while ids and next(iter(ids.values())) < horizon:
                del ids[next(iter(ids))]

    def _judge_reply(self, data: bytes, addr: tuple[str, int]) -> None:
        send = self._sends_by_addr.get(addr)
        if send is None or send.reply_key is None or send.vouched is None:
            self.stats.misdirected.append(f"a reply went to {addr}, which sent nothing valid")
            return
        if self._first_addr.get(_digest(send.datagram)) != addr:
            self.stats.misdirected.append(f"a reply went to {addr}, a second source address")
            return
        reply = open_reply(data, send.reply_key)
        if reply.failure is not None:
            self.stats.replies[reply.failure.code] += 1
            if reply.failure.code == "server_error":
                self.stats.crashes.append(f"server_error for a {send.kind} request")
        else:
            self.stats.replies["ok"] += 1
            token = (reply.result or {}).get("flow")
            if isinstance(token, str):
                self.tokens = [*self.tokens[-15:], token]

    def sizes(self) -> dict[str, int]:
        service = self.service
        files = list(self.journal_dir.glob("*.log"))
        return {
            "replay_guard": len(service._replays),
            "reply_cache": len(service._replies),
            "in_flight": len(service._in_flight),
            "tasks": len(service._tasks),
            "journal_files": len(files),
            "journal_bytes": sum(path.stat().st_size for path in files),
        }

    def _sample_sizes(self) -> None:
        now = self.sizes()
        self.stats.final_sizes = now
        for name, value in now.items():
            self.stats.sizes[name] = max(self.stats.sizes.get(name, 0), value)

    def forget_sends(self) -> None:
        """Drop the harness's own bookkeeping of past scenarios (it is not the server's)."""
        self._sends_by_addr.clear()
        self._first_addr.clear()


def _digest(datagram: bytes) -> bytes:
    return hashlib.sha256(datagram).digest()


def _claimed_id(plaintext: bytes) -> bytes | None:
    """The request id a plaintext names, if it names one the decoder could accept."""
    try:
        obj = json.loads(plaintext)
        value = obj["request_id"]
        if isinstance(value, str) and len(value) == 32:
            return bytes.fromhex(value) if value == value.lower() else None
    except (ValueError, TypeError, KeyError, RecursionError):
        pass
    return None


# --- generation ---------------------------------------------------------------------------------

_UNSAFE = ["\n", "\r", "\x00", "\x1b[2J", "\x9b", "\u2028", "\u202e", "\u200b", "\ufeff"]
_SURROGATES = ["\ud800", "\udfff", "a\udc80b", "\ud83d"]
_HUGE_NUMBERS = [
    b"1e999",
    b"-1e999",
    b"1" * 5000,
    b"-" + b"9" * 400,
    b"1e-999",
    b"0.0",
    b"-0",
    b"123456789012345678901234567890",
    b"1E+308",
    b"NaN",
    b"Infinity",
]

leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.sampled_from(_UNSAFE + _SURROGATES),
    st.text(min_size=200, max_size=600),
)
json_values = st.recursive(
    leaves,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def texts(draw: st.DrawFn, known: list[str]) -> Any:
    """A field value: mostly strings a flow takes seriously, sometimes anything."""
    return draw(
        st.one_of(
            st.sampled_from(known),
            st.text(max_size=20),
            st.text(min_size=250, max_size=600),
            st.sampled_from(_UNSAFE + _SURROGATES + ["", " ", "   "]),
            st.builds(lambda a, b: a + b, st.sampled_from(known), st.sampled_from(_UNSAFE)),
            json_values,
        )
    )


def _known(ctx: FuzzContext) -> dict[str, list[str]]:
    """Per field, values a flow takes seriously: real names, the right password, answers."""
    return {
        "domain": [ctx.domain, ctx.domain.lower(), "NOPE", ""],
        "username": [ctx.user, "alice", "nobody", "admin"],
        "password": [USER_PASSWORD, "wrong", "x" * 513],
        "old_password": [USER_PASSWORD, "wrong"],
        "new_password": [USER_PASSWORD, "Short1!", "x" * 513],
        "email": ["a@example.org", "bad", "a@b", ""],
        "lang": ["en", "de", "EN-us", "x" * 20],
        "upn": [f"{ctx.user}@example.org", "@", "a@", "x@lab.example.com"],
        "answer": ANSWERS,
        "code": ["123456", "12 34 56", "0"],
        "flow": ["AAAA", "!!", "A" * 3000],
        "question": ctx.questions,
    }


def _good_body(op: str, ctx: FuzzContext, token: str, secret: str) -> dict[str, Any]:
    """What the relay would send for `op`: the starting point of the field fuzzing."""
    who = {"domain": ctx.domain, "username": ctx.user, "lang": "en"}
    if op == "change":
        # The same password again: the directory's history refuses it, nothing changes.
        return who | {"old_password": USER_PASSWORD, "new_password": USER_PASSWORD}
    if op == "enroll":
        pairs = zip(ctx.questions, ANSWERS, strict=False)
        answers = [{"question": q, "answer": a} for q, a in pairs]
        return who | {"password": USER_PASSWORD, "answers": answers}
    if op.endswith(".step"):
        return {"flow": token, secret: ANSWERS[0] if secret == "answer" else "123456"}
    if op == "enrollment_status":
        return {"domain": ctx.domain, "username": ctx.user}
    if op in ("reset.start", "unlock.start"):
        return who
    return {}


@st.composite
def bodies(draw: st.DrawFn, op: str, ctx: FuzzContext) -> dict[str, Any]:
    """Mostly a good body with one field fuzzed, so the checks past it run too; sometimes
    every field fuzzed, or any JSON object at all."""
    # Which token this draw gets depends on the run, never the draws themselves.
    tokens = ctx.target.tokens or ["AAAA"]
    token = tokens[draw(_ANYWHERE) % len(tokens)]
    secret = draw(st.sampled_from(["answer", "code", "new_password"]))
    body = _good_body(op, ctx, token, secret)
    known = _known(ctx)
    mode = draw(st.integers(0, 9))
    if mode < 6:
        name = draw(st.sampled_from([*sorted(body), "lang", "web_user", "extra"]))
        if draw(st.integers(0, 5)) == 0:
            body.pop(name, None)
        elif name == "answers":
            answer = st.fixed_dictionaries(
                {"question": texts(known["question"]), "answer": texts(ANSWERS)},
                optional={"extra": json_values},
            )
            body[name] = draw(st.one_of(st.lists(answer, min_size=2, max_size=4), json_values))
        else:
            body[name] = draw(texts(known.get(name, ["x"])))
    elif mode < 8:
        for name in sorted(body):
            if draw(st.booleans()):
                body[name] = draw(texts(known.get(name, ["x"])))
    else:
        body = draw(st.dictionaries(st.sampled_from(sorted(known)), json_values, max_size=5))
    return body


@dataclass
class FuzzContext:
    """What generation may borrow from the target: names that exist, tokens it handed out."""

    target: WireTarget
    domain: str
    user: str
    questions: list[str]


def _plaintext_object(request: Request) -> dict[str, Any]:
    obj: dict[str, Any] = json.loads(encode_request(request))
    return obj


@st.composite
def structured(draw: st.DrawFn, target: WireTarget, ctx: FuzzContext) -> Send:
    """A valid seal around a fuzzed JSON plaintext."""
    op = draw(st.sampled_from([*_OPS, "nope", ""]))
    obj = _plaintext_object(target.request("ping", {}))
    obj["op"] = op
    obj["body"] = draw(bodies(op, ctx))
    for _ in range(max(0, draw(st.integers(-4, 2)))):
        key = draw(st.sampled_from([*sorted(obj), "extra"]))
        edit = draw(st.sampled_from(["drop", "value", "vdir"]))
        if edit == "drop":
            obj.pop(key, None)
        elif edit == "vdir":
            obj["vdir"] = draw(st.sampled_from(["closed", "", "x" * 65, "nope", SITE.upper()]))
        else:
            obj[key] = draw(json_values)
    if draw(st.integers(0, 5)) == 0:
        obj["client_ip"] = draw(st.sampled_from(["", "::1", "1.2.3", "10.0.0.1\n", "fe80::1%lo"]))
    text = json.dumps(obj, ensure_ascii=draw(st.booleans()), allow_nan=True)
    return target.sealed_plaintext(draw(_text_edits(text)))


@st.composite
def _text_edits(draw: st.DrawFn, text: str) -> bytes:
    """Byte-level edits of a JSON text: what no encoder makes."""
    data = text.encode("utf-8", "surrogatepass")
    # Hypothesis leans to small draws: let the smallest leave the text alone.
    edit = draw(st.integers(0, 20)) - 14
    if edit == 0:  # a huge, non-finite or non-JSON number for the timestamp
        number = draw(st.sampled_from(_HUGE_NUMBERS))
        start = data.find(b'"timestamp":')
        if start >= 0:
            end = start + len(b'"timestamp":')
            stop = end
            while stop < len(data) and data[stop : stop + 1] not in (b",", b"}"):
                stop += 1
            data = data[:end] + number + data[stop:]
    elif edit == 1:  # deep nesting in the body
        depth = draw(st.sampled_from([50, 900, 5000, 20000]))
        data = data.replace(b'"body":', b'"body":' + b"[" * depth + b"{}" + b"]" * depth + b",x", 1)
        data = data.replace(b",x{", b',"_":{', 1) if b",x{" in data else data
    elif edit == 2:  # invalid UTF-8 or a byte order mark
        junk = draw(st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xef\xbb\xbf"]))
        at = draw(_ANYWHERE) % (len(data) + 1)
        data = data[:at] + junk + data[at:]
    elif edit == 3:  # a duplicate key
        data = data[:-1] + b',"op":"ping"}'
    elif edit == 4:  # truncated JSON
        data = data[: draw(_ANYWHERE) % max(1, len(data))]
    elif edit == 5:  # not an object
        data = draw(st.sampled_from([b"[]", b"null", b'"x"', b"1", b"", b" ", b"{}"]))
    elif edit == 6:  # trailing garbage
        data += draw(st.sampled_from([b" ", b"x", b"{}", b"\x00"]))
    return data


@st.composite
def fresh(draw: st.DrawFn, target: WireTarget, ctx: FuzzContext) -> Send:
    """A valid request, as the relay seals it: every field as the encoder allows."""
    op = draw(st.sampled_from(["ping", "meta", "reset.start", "enrollment_status", "change"]))
    body: dict[str, Any] = {}
    if op in ("reset.start", "change", "enrollment_status"):
        name = draw(st.sampled_from(["nobody", "erin", ctx.user]))
        body = {"domain": ctx.domain, "username": name}
    if op == "change":
        body |= {"old_password": "wrong-password-1", "new_password": "Never!Used-2"}
    return target.valid(target.request(op, body))


# A position in a datagram whose length hypothesis cannot know: the draws must not depend on
# the run (timestamps, tokens), or hypothesis calls the strategy flaky.
_ANYWHERE = st.integers(0, 2**16)


def _flip(data: bytes, at: int, mask: int) -> bytes:
    out = bytearray(data)
    out[at % len(out)] ^= mask or 1
    return bytes(out)


@st.composite
def mutated(
    draw: st.DrawFn, base: bytes, rotated_id: bytes, splice: Callable[[], bytes]
) -> tuple[str, bytes]:
    """A forger's change to a valid datagram, and its kind; none may ever be served.
    `rotated_id` is another key id the receiver knows, `splice` makes another datagram."""
    data = base
    how = draw(st.integers(0, 12))
    if how <= 2:
        flips = draw(st.lists(st.tuples(_ANYWHERE, st.integers(1, 255)), min_size=1, max_size=4))
        for at, mask in flips:
            data = _flip(data, at, mask)
        kind = "bit_flip"
    elif how == 3:
        data = data[: draw(_ANYWHERE) % len(data)]
        kind = "truncated"
    elif how == 4:
        data = data + draw(st.binary(min_size=1, max_size=64))
        kind = "extended"
    elif how == 5:
        at = draw(st.integers(0, 5))  # magic, version, type
        data = _flip(data, at, draw(st.integers(1, 255)))
        kind = "header"
    elif how == 6:  # the key id of the rotated key, of an unknown key, or zeros
        kid = draw(st.sampled_from([rotated_id, b"\x00" * 8, os.urandom(8)]))
        data = data[:6] + kid + data[14:]
        kind = "key_id_swap"
    elif how == 7:  # a low-order or zero ephemeral key
        point = draw(st.sampled_from([b"\x00" * 32, b"\x01" + b"\x00" * 31, b"\xff" * 32]))
        data = data[:14] + point + data[46:]
        kind = "ephemeral"
    elif how == 8:  # the ciphertext and tag of another datagram behind this header
        data = data[:58] + splice()[58:]
        kind = "spliced"
    elif how == 9:
        data = data[:58] + os.urandom(len(data) - 58)
        kind = "ciphertext"
    elif how == 10:  # bytes swapped around
        a, b = sorted(x % len(data) for x in draw(st.tuples(_ANYWHERE, _ANYWHERE)))
        data = data[:a] + data[b:] + data[a:b]
        kind = "reordered_bytes"
    elif how == 11:
        data = data[:58] + data[58 + 16 :] + data[58 : 58 + 16]
        kind = "moved_tag"
    else:
        data = data[:-16] + os.urandom(16)
        kind = "tag"
    if data == base:  # a no-op mutation is a retry, not a forgery
        data = data + b"\x00"
    return kind, data


@st.composite
def scenarios(draw: st.DrawFn, target: WireTarget, ctx: FuzzContext) -> list[Send | None]:
    """A few datagrams built around one or two valid requests, in a drawn order; None marks
    a pause until the server has answered what it took."""
    originals = [draw(fresh(target, ctx)) for _ in range(draw(st.integers(1, 2)))]
    around: list[Send | None] = []
    for _ in range(draw(st.integers(1, 8))):
        base = draw(st.sampled_from(originals))
        choice = draw(st.integers(0, 24))
        if choice <= 5:
            kind, data = draw(mutated(base.datagram, target.rotated_id, target.splice))
            around.append(Send(data, target.addr(), kind))
        elif choice == 6:  # the relay's own retry: same bytes, same address
            around.append(base)
        elif choice == 7:  # the same bytes from a second source address
            copy = Send(base.datagram, target.addr(), "second_address", base.vouched)
            around.append(replace(copy, reply_key=base.reply_key))
        elif choice == 8:  # the same request sealed again: a replay with a new seal
            assert base.request is not None
            again = target.valid(base.request)
            around.append(replace(again, kind="resealed", valid=False))
        elif choice == 9:  # sealed with the public key alone, no relay key
            request = target.request("ping", {})
            datagram, _ = seal_request(request, target.server_key)
            around.append(Send(datagram, target.addr(), "no_relay_key"))
        elif choice == 10:  # sealed for the rotated key, with the relay key, but stale
            request = target.request(
                "ping",
                {},
                timestamp=time.time() - draw(st.sampled_from([CLOCK_SKEW + 1, 3600, -3600])),
            )
            datagram, _ = seal_request(
                request, target.old_key.public_key(), relay_key=target.relay_key
            )
            around.append(Send(datagram, target.addr(), "stale"))
        elif choice == 11:  # sealed for a key the server does not hold
            other = generate_private_key().public_key()
            datagram, _ = seal_request(
                target.request("ping", {}), other, relay_key=target.relay_key
            )
            around.append(Send(datagram, target.addr(), "wrong_server_key"))
        elif choice == 12:  # random bytes, sometimes behind a valid header
            junk = draw(st.binary(max_size=300))
            if draw(st.booleans()):
                junk = base.datagram[:14] + junk
            around.append(Send(junk, target.addr(), "random"))
        elif choice == 13:
            around.append(
                Send(
                    os.urandom(draw(st.sampled_from([32769, 40000, 65507]))),
                    target.addr(),
                    "oversized",
                )
            )
        elif choice == 14:
            around.append(None)
        else:
            around.append(draw(structured(target, ctx)))
    # Originals go anywhere among the rest: reordered, or after their own copies.
    sends: list[Send | None] = list(around)
    for original in originals:
        sends.insert(draw(st.integers(0, len(sends))), original)
    return sends


# --- the relay's side -----------------------------------------------------------------------------


class ReplyTarget:
    """The relay's reply parser as an exchange uses it: a `_ReplyListener` waiting for the
    reply to one request, fed everything a hostile path could send back."""

    def __init__(self) -> None:
        self.server = generate_private_key()
        self.keyring = Keyring([self.server])
        self.relay_key = os.urandom(32)
        self.loop = asyncio.new_event_loop()
        self.datagrams = 0
        self.kinds: Counter[str] = Counter()
        self.violations: list[str] = []
        self.opened = 0  # datagrams that resolved the exchange

    def exchange_parts(self) -> tuple[Request, ReplyKey]:
        request = Request(op="ping", vdir=SITE, client_ip="192.0.2.7", body={})
        _datagram, reply_key = seal_request(
            request, self.server.public_key(), relay_key=self.relay_key
        )
        return request, reply_key

    def run(self, reply_key: ReplyKey, sends: list[tuple[str, bytes, bool]]) -> None:
        """Feed `sends` (kind, datagram, genuine) to a listener in order; the first genuine
        one, and only it, must resolve the exchange, and nothing may raise."""
        from pwreset.protocol.client import _ReplyListener

        async def feed() -> None:
            future: asyncio.Future[Any] = self.loop.create_future()
            listener = _ReplyListener(reply_key, future)
            first: bytes | None = None
            for kind, datagram, genuine in sends:
                self.datagrams += 1
                self.kinds[kind] += 1
                was_done = future.done()
                try:
                    listener.datagram_received(datagram, ("127.0.0.1", 5100))
                except Exception as exc:
                    self.violations.append(f"the reply listener raised {exc!r} on a {kind}")
                    continue
                if future.done() and not was_done:
                    self.opened += 1
                    if not genuine:
                        self.violations.append(f"a {kind} reply was taken for the server's")
                    first = datagram
            genuine_sent = any(genuine for _, _, genuine in sends)
            if genuine_sent and not future.done():
                self.violations.append("the genuine reply did not resolve the exchange")
            if first is not None and future.result().request_id != reply_key.request_id:
                self.violations.append("the exchange resolved to another request's reply")

        self.loop.run_until_complete(feed())

    def close(self) -> None:
        self.loop.close()


@st.composite
def reply_plaintexts(draw: st.DrawFn, request_id: bytes) -> bytes:
    """Fuzzed reply JSON: good shapes with wrong types, other ids, and byte-level edits."""
    base: dict[str, Any] = {"request_id": request_id.hex()}
    shape = draw(st.integers(0, 3))
    if shape == 0:
        base["result"] = draw(st.dictionaries(st.text(max_size=8), json_values, max_size=4))
    elif shape == 1:
        base["failure"] = {
            "code": draw(texts(["wrong_password", "server_error", ""])),
            "detail": draw(texts(["", "x"])),
            "params": draw(
                st.one_of(
                    st.dictionaries(st.text(max_size=4), texts(["1"]), max_size=2), json_values
                )
            ),
        }
    else:
        base = draw(
            st.dictionaries(
                st.sampled_from(["request_id", "result", "failure", "x"]), json_values, max_size=3
            )
        )
        if draw(st.booleans()):
            base["request_id"] = draw(
                st.sampled_from([request_id.hex(), os.urandom(16).hex(), request_id.hex().upper()])
            )
    text = json.dumps(base, ensure_ascii=draw(st.booleans()), allow_nan=True)
    return draw(_text_edits(text))


@st.composite
def reply_scenarios(
    draw: st.DrawFn, target: ReplyTarget
) -> tuple[ReplyKey, list[tuple[str, bytes, bool]]]:
    """What comes back to one exchange: forgeries and junk around (or instead of) the
    server's reply, in a drawn order."""
    from pwreset.protocol.messages import Reply
    from pwreset.protocol.sealing import _seal_reply_plaintext, seal_reply

    request, reply_key = target.exchange_parts()
    genuine = seal_reply(Reply(request.request_id, result={"pong": True}), reply_key)
    sends: list[tuple[str, bytes, bool]] = []
    for _ in range(draw(st.integers(1, 8))):
        choice = draw(st.integers(0, 9))
        if choice <= 3:  # a forger's change to the genuine reply
            kind, data = draw(mutated(genuine, os.urandom(8), lambda: genuine[::-1]))
            sends.append(("reply_" + kind, data, False))
        elif choice <= 5:  # the right key around fuzzed JSON: the server's word, but bent
            plaintext = draw(reply_plaintexts(request.request_id))
            sealed = _seal_reply_plaintext(plaintext, reply_key, 65507)
            sends.append(("reply_structured", sealed, _opens_as_reply(sealed, reply_key)))
        elif choice == 6:  # another exchange's genuine reply
            other, other_key = target.exchange_parts()
            stray = seal_reply(Reply(other.request_id, result={}), other_key)
            sends.append(("reply_other_exchange", stray, False))
        elif choice == 7:  # a reply sealed with a key guessed by a forger
            forged_key = ReplyKey(os.urandom(32), reply_key.key_id, request.request_id)
            forged = seal_reply(Reply(request.request_id, result={"pong": True}), forged_key)
            sends.append(("reply_forged_key", forged, False))
        elif choice == 8:
            sends.append(("reply_random", draw(st.binary(max_size=200)), False))
        else:  # the server's reply again: a late duplicate of a resend
            sends.append(("reply_duplicate", genuine, True))
    if draw(st.integers(0, 4)) > 0:
        sends.insert(draw(st.integers(0, len(sends))), ("reply_genuine", genuine, True))
    return reply_key, sends


def _opens_as_reply(sealed: bytes, reply_key: ReplyKey) -> bool:
    """Whether a well-sealed fuzzed reply decodes: then taking it is right."""
    from pwreset.protocol.errors import ProtocolError

    try:
        open_reply(sealed, reply_key)
    except ProtocolError:
        return False
    return True


def fuzz_replies(target: ReplyTarget, datagrams: int, chunk: int = 500) -> ReplyTarget:
    """Run hypothesis-generated reply scenarios until `datagrams` reached the listener."""

    def campaign(examples: int) -> None:
        @settings(
            max_examples=examples,
            database=None,
            deadline=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(st.data())
        def run(data: st.DataObject) -> None:
            reply_key, sends = data.draw(reply_scenarios(target))
            target.run(reply_key, sends)

        run()

    while target.datagrams < datagrams:
        campaign(max(1, min(chunk, (datagrams - target.datagrams) // 5)))
    return target


@contextmanager
def quiet(*names: str) -> Iterator[None]:
    """Silence the named loggers' warnings (one per rejected datagram) for a bulk run."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


# --- running a campaign ---------------------------------------------------------------------------


def enrolled_context(target: WireTarget, user: str) -> FuzzContext:
    """Enroll `user` (who exists with USER_PASSWORD) through the target, so fuzzed steps
    meet real questions, Argon2 checks and pwreset's lockout as well as decoys."""
    config = target.config
    questions = config.enroll.question_list["en"][: config.enroll.questions]
    domain = config.domains[0].name
    body = {
        "domain": domain,
        "username": user,
        "password": USER_PASSWORD,
        "answers": [{"question": q, "answer": a} for q, a in zip(questions, ANSWERS, strict=False)],
    }
    send = target.valid(target.request("enroll", body))
    target.run([send])
    assert target.stats.replies["ok"] == 1, target.stats
    return FuzzContext(target, domain, user, questions)


def fuzz(
    ctx: FuzzContext,
    datagrams: int,
    *,
    progress: Callable[[int], None] | None = None,
    chunk: int = 200,
) -> Stats:
    """Run hypothesis-generated scenarios at the target until `datagrams` were delivered."""
    target = ctx.target

    def campaign(examples: int) -> None:
        @settings(
            max_examples=examples,
            database=None,
            deadline=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(st.data())
        def run(data: st.DataObject) -> None:
            target.run(data.draw(scenarios(target, ctx)))

        run()

    while target.stats.datagrams < datagrams:
        # A scenario holds about five datagrams: stop close to the count asked for.
        campaign(max(1, min(chunk, (datagrams - target.stats.datagrams) // 5)))
        target.forget_sends()
        if progress is not None:
            progress(target.stats.datagrams)
    return target.stats


def valid_loop(ctx: FuzzContext, datagrams: int) -> Stats:
    """The baseline: as many valid requests, one scenario each, through the same target."""
    target = ctx.target
    strategy = fresh(target, ctx)

    @settings(
        max_examples=datagrams,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(st.data())
    def loop(data: st.DataObject) -> None:
        target.run([data.draw(strategy)])

    loop()
    return target.stats


def server_heap(snapshot: tracemalloc.Snapshot) -> int:
    """Bytes a snapshot holds that hypothesis and this harness did not allocate themselves:
    what the service, the flows, the store and the libraries they call keep."""
    own = [
        tracemalloc.Filter(False, "*/hypothesis/*"),
        tracemalloc.Filter(False, __file__),
        tracemalloc.Filter(False, tracemalloc.__file__),
        tracemalloc.Filter(False, "<frozen importlib._bootstrap>"),
        tracemalloc.Filter(False, "<unknown>"),
    ]
    return sum(stat.size for stat in snapshot.filter_traces(own).statistics("filename"))
