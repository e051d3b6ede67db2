"""Simulated users: many concurrent users walking complete flows over HTTP through a running
`pwreset web`, each step timed and every reply checked.

One cycle of a user is enroll → reset with the questions → (the account is locked in the
directory) → unlock with the questions → change; each cycle uses new answers and passwords,
so the directory's history rules never refuse one. A user stops at the first reply that is
not the expected one and records why, so a caller can tell errors (load: must be none) from
`server_unreachable` (crash: expected while the server is down). The bench scripts import
this module too (with tests/ on sys.path).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx2

from pwreset.config.flow_settings import DEFAULT_QUESTIONS

QUESTIONS = DEFAULT_QUESTIONS["en"][:3]
OPS = ("enroll", "reset", "unlock", "change")
# What the audit log says when each operation succeeded (server/flows).
AUDIT_DONE = {
    "enroll": "enrolled",
    "reset": "password reset",
    "unlock": "account unlocked",
    "change": "password changed",
}
_DONE_MESSAGE = {
    "enroll": "RES_FINISHED_ENROLL",
    "reset": "RES_FINISHED_RESET",
    "unlock": "RES_FINISHED_UNLOCK",
    "change": "RES_FINISHED_CHANGE",
}


@dataclass
class SimUser:
    """A directory user and what the simulation knows of it."""

    name: str
    password: str
    generation: int = 0
    # The generation of the answers last enrolled (what reset and unlock answer with).
    enrolled: int = 0
    # The password of an operation whose outcome is unknown (no reply): old or this one.
    pending_password: str | None = None

    def answers(self, generation: int | None = None) -> list[str]:
        wanted = self.enrolled if generation is None else generation
        return [f"Answer{i} {self.name} g{wanted}" for i in range(len(QUESTIONS))]

    def next_password(self) -> str:
        # Never the account name in it: AD's complexity rule refuses that.
        return f"Load!{secrets.token_hex(4)}-{self.generation}x"


@dataclass
class Attempt:
    """One operation a user tried: acknowledged (`done`) or how it ended."""

    user: str
    op: str
    started: float  # wall clock, to compare with the times the server records
    outcome: str = "done"  # done | unreachable | error | hang
    # Whether the request that failed was the one that makes the change (enroll, change,
    # the reset's password, the unlock's last answer): only then is the effect unknown.
    final: bool = False
    new_password: str | None = None
    detail: str = ""
    # perf_counter() when the flow's first request went out (after the unlock's lock).
    t0: float = 0.0


@dataclass
class Results:
    steps: dict[str, list[float]] = field(default_factory=dict)
    attempts: list[Attempt] = field(default_factory=list)
    cycles: int = 0
    # Operations acknowledged while measuring (the warm-up excluded), per kind.
    acknowledged: dict[str, int] = field(default_factory=dict)

    def time(self, step: str, seconds: float) -> None:
        self.steps.setdefault(step, []).append(seconds)

    @property
    def errors(self) -> list[Attempt]:
        return [a for a in self.attempts if a.outcome != "done"]

    def flows(self) -> int:
        return sum(self.acknowledged.values())


class Failed(Exception):
    def __init__(self, outcome: str, detail: str, *, final: bool) -> None:
        super().__init__(detail)
        self.outcome = outcome
        self.detail = detail
        self.final = final


def percentile(samples: list[float], pct: float) -> float:
    if not samples:
        return 0.0
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


def lock_time() -> str:
    """A pwdAccountLockedTime value for "locked now" (a temporary lockout, not a disable)."""
    return datetime.now(UTC).strftime("%Y%m%d%H%M%SZ")


class Simulation:
    """Users walking flows against `base_url` (the relay) in `domain`.

    `lock(name)` locks the account in the directory (blocking; run in a thread) before each
    unlock. `timeout` bounds every request: a reply later than that counts as a hang."""

    def __init__(
        self,
        base_url: str,
        domain: str,
        lock: Callable[[str], None],
        *,
        timeout: float,
        site: str = "pwreset",
        ops: tuple[str, ...] = OPS,
    ) -> None:
        self._api = f"{base_url}/{site}/api/v1"
        self._domain = domain
        self._lock = lock
        self._timeout = timeout
        self._ops = ops
        self.results = Results()
        self.secrets: set[str] = set()  # every password and answer sent, for the leak scan
        self._measuring = True

    async def run(
        self,
        users: list[SimUser],
        *,
        duration: float,
        warmup: float = 0.0,
        stop: asyncio.Event | None = None,
        whole_cycles: bool = False,
    ) -> Results:
        """Every user cycles through the flows until `duration` seconds passed (or `stop` is
        set), then ends the operation it is in, or with `whole_cycles` the cycle it is in
        (so each user does every operation at least once, however slow the machine is).
        Operations finished in the first `warmup` seconds are not counted."""
        stop = stop or asyncio.Event()
        limits = httpx2.Limits(max_connections=len(users) + 10, max_keepalive_connections=None)
        async with httpx2.AsyncClient(timeout=self._timeout, limits=limits) as client:
            self._measuring = warmup <= 0
            tasks = [asyncio.create_task(self._user(client, u, stop, whole_cycles)) for u in users]
            if warmup > 0:
                await asyncio.sleep(warmup)
                self._measuring = True
                self.results = Results(attempts=self.results.attempts)
            # Until `duration` passed, `stop` is set, or every user has stopped on a failure.
            everyone = asyncio.gather(*tasks)
            stopped = asyncio.create_task(stop.wait())
            await asyncio.wait({everyone, stopped}, timeout=duration, return_when="FIRST_COMPLETED")
            stop.set()
            await everyone
            await stopped
        return self.results

    async def _user(
        self, client: httpx2.AsyncClient, user: SimUser, stop: asyncio.Event, whole_cycles: bool
    ) -> None:
        while not stop.is_set():
            for op in self._ops:
                if stop.is_set() and not whole_cycles:
                    return
                attempt = Attempt(user.name, op, time.time(), t0=time.perf_counter())
                self.results.attempts.append(attempt)
                try:
                    await getattr(self, f"_{op}")(client, user, attempt)
                except Failed as exc:
                    attempt.outcome, attempt.detail, attempt.final = (
                        exc.outcome,
                        exc.detail,
                        exc.final,
                    )
                    if exc.final:
                        user.pending_password = attempt.new_password
                    return
                if self._measuring:
                    self.results.time(f"{op} (whole flow)", time.perf_counter() - attempt.t0)
                    acknowledged = self.results.acknowledged
                    acknowledged[op] = acknowledged.get(op, 0) + 1
            if self._measuring:
                self.results.cycles += 1
            user.generation += 1

    # --- one request ----------------------------------------------------------------------

    async def _post(
        self,
        client: httpx2.AsyncClient,
        step: str,
        path: str,
        body: dict[str, Any],
        *,
        final: bool = False,
    ) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            reply = await client.post(f"{self._api}/{path}", json=body)
        except httpx2.TimeoutException:
            raise Failed("hang", f"{step}: no reply in {self._timeout} s", final=final) from None
        except httpx2.HTTPError as exc:
            raise Failed("error", f"{step}: {type(exc).__name__}", final=final) from None
        if self._measuring:
            self.results.time(step, time.perf_counter() - started)
        try:
            data: dict[str, Any] = reply.json()
        except ValueError:
            raise Failed(
                "error", f"{step}: HTTP {reply.status_code}, not JSON", final=final
            ) from None
        if reply.status_code != 200:
            code = str(data.get("code", ""))
            outcome = "unreachable" if code == "server_unreachable" else "error"
            raise Failed(outcome, f"{step}: HTTP {reply.status_code} {code}", final=final)
        return data

    def _expect(self, step: str, data: dict[str, Any], **wanted: Any) -> None:
        for key, value in wanted.items():
            got = data.get(key) if key != "kind" else (data.get("step") or {}).get("kind")
            if got != value:
                raise Failed("error", f"{step}: {key} is {got!r}, expected {value!r}", final=False)

    # --- the flows --------------------------------------------------------------------------

    async def _enroll(self, client: httpx2.AsyncClient, user: SimUser, attempt: Attempt) -> None:
        answers = user.answers(user.generation)
        self.secrets.update([user.password, *answers])
        body = {
            "domain": self._domain,
            "username": user.name,
            "password": user.password,
            "answers": [
                {"question": q, "answer": a} for q, a in zip(QUESTIONS, answers, strict=True)
            ],
            "lang": "en",
        }
        data = await self._post(client, "enroll", "enroll", body, final=True)
        self._expect("enroll", data, status="done", message=_DONE_MESSAGE["enroll"])
        user.enrolled = user.generation

    async def _questions(self, client: httpx2.AsyncClient, user: SimUser, flow: str) -> Any:
        """Start `flow` and answer every question; the last reply (unlock: the outcome)."""
        start = {"domain": self._domain, "username": user.name, "lang": "en"}
        data = await self._post(client, f"{flow} start", f"{flow}/start", start)
        for index, answer in enumerate(user.answers()):
            self._expect(f"{flow} start", data, kind="question")
            last = index == len(QUESTIONS) - 1
            body = {"flow": data["flow"], "answer": answer}
            step = f"{flow} answer"
            data = await self._post(
                client, step, f"{flow}/step", body, final=last and flow == "unlock"
            )
        return data

    async def _reset(self, client: httpx2.AsyncClient, user: SimUser, attempt: Attempt) -> None:
        data = await self._questions(client, user, "reset")
        self._expect("reset answer", data, kind="password")
        new = user.next_password()
        self.secrets.add(new)
        attempt.new_password = new
        body = {"flow": data["flow"], "new_password": new}
        data = await self._post(client, "reset password", "reset/step", body, final=True)
        self._expect("reset password", data, status="done", message=_DONE_MESSAGE["reset"])
        user.password = new

    async def _unlock(self, client: httpx2.AsyncClient, user: SimUser, attempt: Attempt) -> None:
        try:
            await asyncio.to_thread(self._lock, user.name)
        except Exception as exc:  # the lab's directory refused: the run cannot go on
            raise Failed("error", f"lock in the directory: {exc}", final=False) from None
        attempt.started, attempt.t0 = time.time(), time.perf_counter()
        data = await self._questions(client, user, "unlock")
        self._expect("unlock answer", data, status="done", message=_DONE_MESSAGE["unlock"])

    async def _change(self, client: httpx2.AsyncClient, user: SimUser, attempt: Attempt) -> None:
        new = user.next_password()
        self.secrets.add(new)
        attempt.new_password = new
        body = {
            "domain": self._domain,
            "username": user.name,
            "old_password": user.password,
            "new_password": new,
            "lang": "en",
        }
        data = await self._post(client, "change", "change", body, final=True)
        self._expect("change", data, status="done", message=_DONE_MESSAGE["change"])
        user.password = new
