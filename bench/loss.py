"""Complete flows through a lossy DMZ link (issue 9).

    .venv/bin/python bench/loss.py [--flows 200] [--loss 20] [--parallel 8]
        [--directory openldap|ad] [--timeout S] [--max-timeout S] [--attempts N]

Runs as root (network namespaces; tests/support/dmz.py): `pwreset web` in one namespace,
`pwreset server` in another, nftables dropping --loss % of UDP at random each way, the lab
directory reached from the server's side. Users walk complete flows, --parallel at a time:
enroll, reset (one wrong answer, the questions, a code by SMS, a new password), unlock
(after the directory locked them) and change, four flows each. The same run with no loss
on the same stack is the baseline. The relay keeps its default retry settings unless
--timeout, --max-timeout or --attempts say otherwise (the defaults before issue 9 were
--timeout 1 --max-timeout 8 --attempts 4: waits of 1, 2, 4 and 8 s).

One line per figure: `name: value unit (baseline ..., ratio ...)`. Exits 1 if a flow failed,
a try was counted twice or a secret reached a file.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from rich.console import Console
from rich.progress import Progress

from support.dmz import DmzStack, dmz_stack
from support.flowstack import ANSWERS, PASSWORD, FlowStack
from support.labs import lab_and_admin
from support.secrets_scan import find_secrets
from support.stacks import USED_SECRETS, secret

FLOWS_PER_USER = 4  # enroll, reset, unlock, change
SETTINGS: dict[str, Any] = {
    "verification": {"enabled": True, "email": False, "sms": True,
                     # 12 digits: the secrets scan can look for them (6 digits turn up by
                     # chance in the clear timestamps of the code-sending counts).
                     "length": 12,
                     # Every lab user has the same phone: no cool-down or cap between codes.
                     "code_cooldown": 0, "max_codes_per_day": 0,
                     "max_codes_per_destination_per_day": 0},
}  # fmt: skip
# The audit rows a completed flow leaves, once each.
DONE_EVENTS = {
    "enroll": "enrolled",
    "reset": "password reset",
    "unlock": "account unlocked",
    "change": "password changed",
}


class FlowError(Exception):
    """A reply a completing flow does not get."""


@dataclass
class Phase:
    """What one pass over its users saw."""

    calls: int = 0
    completed: Counter[str] = field(default_factory=Counter)
    wrong_answers_sent: int = 0
    reset_steps: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def call(self, flow: str, request: Callable[[], Any]) -> Any:
        started = time.monotonic()
        reply = request()
        took = time.monotonic() - started
        with self.lock:
            self.calls += 1
            if flow == "reset":
                self.reset_steps.append(took)
        return reply


def _expect(reply: Any, status: int, what: str) -> Any:
    if reply.status_code != status:
        raise FlowError(f"{what}: {reply.status_code} {reply.text[:120]}")
    return reply.json()


def _code_for(stack: FlowStack, user: str) -> str:
    return [sms for sms in stack.sms() if sms[2] == user][-1][1]


def _questions_and_code(
    stack: FlowStack, phase: Phase, flow: str, user: str, *, wrong_first: bool
) -> dict[str, Any]:
    body = _expect(phase.call(flow, lambda: stack.start(flow, user)), 200, f"{flow} start")
    if wrong_first:
        reply = phase.call(flow, lambda: stack.step(flow, body["flow"], answer="not the answer"))
        if _expect(reply, 401, f"{flow} wrong answer")["code"] != "wrong_answer":
            raise FlowError(f"{flow} wrong answer: {reply.text[:120]}")
        with phase.lock:
            phase.wrong_answers_sent += 1
    for answer in ANSWERS:
        token = body["flow"]
        body = _expect(
            phase.call(flow, lambda t=token, a=answer: stack.step(flow, t, answer=a)),
            200,
            f"{flow} answer",
        )
    token, code = body["flow"], _code_for(stack, user)
    return _expect(
        phase.call(flow, lambda: stack.step(flow, token, code=code)), 200, f"{flow} code"
    )


def journey(stack: FlowStack, phase: Phase, user: str) -> None:
    """Enroll, reset, unlock and change for one user; each completed flow is counted."""
    steps: list[tuple[str, Callable[[], None]]] = []
    password = PASSWORD

    def enroll() -> None:
        _expect(phase.call("enroll", lambda: stack.enroll(user)), 200, "enroll")

    def reset() -> None:
        nonlocal password
        body = _questions_and_code(stack, phase, "reset", user, wrong_first=True)
        new = secret(f"Loss!{secrets.token_hex(4)}-1a")
        reply = phase.call("reset", lambda: stack.step("reset", body["flow"], new_password=new))
        _expect(reply, 200, "reset password")
        password = new

    def unlock() -> None:
        stack.admin.lock(user)
        _questions_and_code(stack, phase, "unlock", user, wrong_first=False)

    def change() -> None:
        new = secret(f"Loss!{secrets.token_hex(4)}-2b")
        body = {"domain": stack.domain, "username": user, "old_password": password,
                "new_password": new}  # fmt: skip
        _expect(phase.call("change", lambda: stack.post("change", body)), 200, "change")

    steps = [("enroll", enroll), ("reset", reset), ("unlock", unlock), ("change", change)]
    for name, run in steps:
        try:
            run()
        except (FlowError, LookupError) as exc:
            with phase.lock:
                phase.failures.append(f"{user} {name}: {exc}")
            return  # the later flows need this one
        with phase.lock:
            phase.completed[name] += 1


@dataclass
class Outcome:
    phase: Phase
    requests: int
    requests_dropped: int
    replies: int
    replies_dropped: int
    seconds: float
    wrong_answers_counted: int
    audited_once: int


def run_phase(
    dmz: DmzStack, loss: int, users: list[str], parallel: int, progress: Progress | None
) -> Outcome:
    stack = dmz.flows
    dmz.link.set_loss(loss)
    phase = Phase()
    before = dmz.link.counters()
    started = time.monotonic()
    task = progress.add_task(f"{loss} % loss", total=len(users)) if progress else None

    def one(user: str) -> None:
        journey(stack, phase, user)
        if progress is not None and task is not None:
            progress.advance(task)

    with ThreadPoolExecutor(parallel) as pool:
        list(pool.map(one, users))
    seconds = time.monotonic() - started
    after = dmz.link.counters()
    rows = [row for row in stack.audit() if row.user in set(users)]
    wrong = sum(1 for row in rows if row.event == "wrong answer to question 1")
    once = 0
    for user in users:
        events = Counter(row.event for row in rows if row.user == user and row.type == "success")
        once += sum(1 for event in DONE_EVENTS.values() if events[event] == 1)
    return Outcome(
        phase=phase,
        requests=after.requests - before.requests,
        requests_dropped=after.requests_dropped - before.requests_dropped,
        replies=after.replies - before.replies,
        replies_dropped=after.replies_dropped - before.replies_dropped,
        seconds=seconds,
        wrong_answers_counted=wrong,
        audited_once=once,
    )


def _percentile(samples: list[float], pct: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


def _ratio(value: float, baseline: float) -> str:
    return f"{value / baseline:.2f}" if baseline else "n/a"


def report(lossy: Outcome, base: Outcome, loss: int) -> None:
    def line(name: str, value: float, baseline: float, unit: str, fmt: str = ".0f") -> None:
        print(
            f"{name}: {value:{fmt}} {unit} (baseline {baseline:{fmt}}, "
            f"ratio {_ratio(value, baseline)})"
        )

    done, base_done = lossy.phase.completed.total(), base.phase.completed.total()
    line("loss_flows_completed", done, base_done, "flows")
    line("loss_flows_failed", len(lossy.phase.failures), len(base.phase.failures), "flows")
    for pct in (50, 99):
        line(
            f"loss_p{pct}_reset_step",
            _percentile(lossy.phase.reset_steps, pct) * 1000,
            _percentile(base.phase.reset_steps, pct) * 1000,
            "ms",
        )
    line("loss_retries", lossy.requests - lossy.phase.calls,
         base.requests - base.phase.calls, "datagrams resent")  # fmt: skip
    line("loss_retries_per_request", (lossy.requests - lossy.phase.calls) / lossy.phase.calls,
         (base.requests - base.phase.calls) / base.phase.calls, "resends", ".2f")  # fmt: skip
    for what, sent, dropped in (
        ("requests", lossy.requests, lossy.requests_dropped),
        ("replies", lossy.replies, lossy.replies_dropped),
    ):
        print(f"loss_{what}_dropped: {100 * dropped / max(sent, 1):.1f} % of {sent} "
              f"(target {loss} %)")  # fmt: skip
    line("loss_wrong_answers_counted", lossy.wrong_answers_counted,
         base.wrong_answers_counted, f"of {lossy.phase.wrong_answers_sent} sent")  # fmt: skip
    line("loss_flows_audited_once", lossy.audited_once, base.audited_once, "flows")
    line("loss_run_time", lossy.seconds, base.seconds, "s", ".1f")


def _users(dmz: DmzStack, count: int, prefix: str) -> list[str]:
    names = [f"{prefix}{n:04d}" for n in range(count)]
    for name in names:
        dmz.flows.admin.create_user(name, PASSWORD)
    return names


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, default=200)
    parser.add_argument("--loss", type=int, default=20)
    parser.add_argument("--parallel", type=int, default=8)
    parser.add_argument("--directory", choices=("openldap", "ad"), default="openldap")
    parser.add_argument("--timeout", type=float)
    parser.add_argument("--max-timeout", type=float)
    parser.add_argument("--attempts", type=int)
    parser.add_argument("--keep", action="store_true", help="keep the run's folder (logs, data)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench/loss.py makes network namespaces: run it as root", file=sys.stderr)
        return 2
    web = {
        key: value
        for key, value in (
            ("timeout", args.timeout),
            ("max_timeout", args.max_timeout),
            ("attempts", args.attempts),
        )
        if value is not None
    }
    users = -(-args.flows // FLOWS_PER_USER)
    shared = os.environ.get("PWRESET_LAB_DIR")
    lab_dir = Path(shared) if shared else Path(tempfile.mkdtemp(prefix="pwreset-lab-"))
    work = Path(tempfile.mkdtemp(prefix="pwreset-bench-"))
    try:
        with ExitStack() as stack:
            directory, admin = lab_and_admin(args.directory, lab_dir, stack)
            settings = {**SETTINGS, "web": web}
            dmz = stack.enter_context(
                dmz_stack(args.directory, directory, admin, work, loss=0, settings=settings)
            )
            tag = "b" + secrets.token_hex(3)
            progress = None
            if sys.stderr.isatty():
                bar = Progress(console=Console(stderr=True), transient=True)
                progress = stack.enter_context(bar)
            base = run_phase(dmz, 0, _users(dmz, users, f"{tag}n"), args.parallel, progress)
            lossy = run_phase(dmz, args.loss, _users(dmz, users, f"{tag}l"), args.parallel,
                              progress)  # fmt: skip
            leaks = find_secrets(
                dmz.files(), USED_SECRETS | {directory.service_password}, min_length=8
            )
    finally:
        if args.keep:
            print(f"the run's folder: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
        if not shared:
            shutil.rmtree(lab_dir, ignore_errors=True)
    report(lossy, base, args.loss)
    print(f"loss_secret_leaks: {len(leaks)} files (baseline 0)")
    for failure in (*base.phase.failures, *lossy.phase.failures, *leaks):  # to stderr
        print(f"  {failure}", file=sys.stderr)
    expected = users * FLOWS_PER_USER
    ok = (
        lossy.phase.completed.total() == expected
        and base.phase.completed.total() == expected
        and lossy.wrong_answers_counted == lossy.phase.wrong_answers_sent
        and lossy.audited_once == expected
        and not leaks
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
