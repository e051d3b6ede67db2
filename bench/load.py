"""Load: simulated users walking complete flows through the real stack on slapd (issue 9).

    .venv/bin/python bench/load.py [--users 200] [--seconds 60] [--reset-seconds 30]

Starts an OpenLDAP lab, `pwreset server` and `pwreset web` (rate limit off, see
docs/performance.md), creates the users in the directory, then in one run:
1. every user cycles enroll → reset (3 questions) → unlock (3 questions) → change over HTTP;
2. the same users do reset flows only (server CPU per reset flow: flows one core sustains);
3. the same operations as bare ldap3 calls, same concurrency (the baseline);
4. timers of the pieces a flow is made of (Argon2id, sealing, journaled writes).
One line per figure: `name: value unit (baseline ..., ratio ...)`.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import secrets
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


from pwreset_lab import SlapdLab, start_slapd  # noqa: E402

from support.loadstack import DOMAIN, LoadStack, ProcessMeter, load_stack, relay_budget  # noqa: E402
from support.rawflows import RawFlows  # noqa: E402
from support.secrets_scan import find_secrets  # noqa: E402
from support.simusers import OPS, Results, Simulation, SimUser, percentile  # noqa: E402

MS = 1000.0


def _line(name: str, value: float, unit: str, *refs: tuple[str, float]) -> str:
    text = f"{name}: {value:.4g} {unit}"
    shown = [
        f"baseline {label} {ref:.4g} {unit}, ratio {value / ref:.3g}" for label, ref in refs if ref
    ]
    return text + (" (" + "; ".join(shown) + ")" if shown else "")


@contextlib.contextmanager
def progress(what: str, seconds: float) -> Iterator[None]:
    """A progress bar on a terminal; nothing when the output goes elsewhere."""
    if not sys.stderr.isatty():
        yield
        return
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task(what, total=seconds)
        done = threading.Event()

        def tick() -> None:
            started = time.monotonic()
            while not done.wait(0.5):
                bar.update(task, completed=min(seconds, time.monotonic() - started))

        ticker = threading.Thread(target=tick, daemon=True)
        ticker.start()
        try:
            yield
        finally:
            done.set()
            ticker.join()


@contextlib.contextmanager
def lab(directory: str | None) -> Iterator[SlapdLab]:
    """A slapd lab: the running one in `directory`, or a new one removed afterwards."""
    if directory:
        found = SlapdLab.running(Path(directory))
        if found:
            yield found
            return
    with tempfile.TemporaryDirectory(prefix="pwreset-load-") as tmp:
        started = start_slapd(Path(tmp) / "slapd")
        try:
            yield started
        finally:
            started.stop()


class PeakRss:
    """Samples a process's RSS twice a second while it runs."""

    def __init__(self, meter: ProcessMeter) -> None:
        self._meter = meter
        self.peak = 0.0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while True:
            with contextlib.suppress(OSError):
                self.peak = max(self.peak, self._meter.memory_mb())
            if self._done.wait(0.5):
                return

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()


def _web_meter() -> ProcessMeter | None:
    """The `pwreset web` child of this process."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().split(b"\0")
            if int(fields[1]) == os.getpid() and b"web" in cmdline:
                return ProcessMeter(int(stat.parent.name))
    return None


def simulate(
    stack: LoadStack, users: list[SimUser], seconds: float, warmup: float, ops: tuple[str, ...]
) -> tuple[Results, set[str], dict[str, float]]:
    """Run the simulation; its results, the secrets it sent and CPU seconds per process."""
    simulation = Simulation(
        stack.base_url, stack.domain, stack.lock, timeout=relay_budget(10.0, 3) + 10, ops=ops
    )
    meters = {"server": stack.server_meter(), "slapd": ProcessMeter(stack.lab.pid)}
    web = _web_meter()
    if web is not None:
        meters["web"] = web
    before: dict[str, float] = {}

    async def measured() -> Results:
        async def mark() -> None:
            await asyncio.sleep(warmup)
            before.update({k: m.cpu_seconds() for k, m in meters.items()})

        marker = asyncio.create_task(mark())
        results = await simulation.run(users, duration=seconds + warmup, warmup=warmup)
        await marker
        return results

    results = asyncio.run(measured())
    cpu = {k: m.cpu_seconds() - before[k] for k, m in meters.items()}
    return results, simulation.secrets, cpu


# --- where the time goes ---------------------------------------------------------------------


def _timed(action: Callable[[], Any], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        action()
        samples.append(time.perf_counter() - t)
    return percentile(samples, 50)


def profile(work: Path) -> dict[str, float]:
    """Median seconds of each piece a reset flow is made of, in this process."""
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from pwreset.protocol.keys import Keyring
    from pwreset.protocol.messages import Reply, Request
    from pwreset.protocol.sealing import open_reply, open_request, seal_reply, seal_request
    from pwreset.server.flows.questions import hash_answer, verify_answer
    from pwreset.server.flows.tokens import FlowState, TokenSealer, new_flow_id
    from pwreset.server.storage import AuditEvent, Database, UserRecord

    stored = hash_answer("Rex the dog")
    server_key = X25519PrivateKey.generate()
    keyring = Keyring([server_key])
    relay_key = os.urandom(32)
    body = {"flow": base64.b64encode(os.urandom(600)).decode(), "answer": "Rex the dog"}

    def sealing() -> None:
        request = Request(op="reset.step", vdir="pwreset", client_ip="192.0.2.1", body=body)
        datagram, reply_key = seal_request(request, server_key.public_key(), relay_key=relay_key)
        opened, key = open_request(datagram, keyring, relay_key=relay_key)
        sealed = seal_reply(Reply(opened.request_id, result={"flow": body["flow"]}), key)
        open_reply(sealed, reply_key)

    tokens = TokenSealer(os.urandom(32))
    now = time.time()
    state = FlowState(
        kind="reset", site="pwreset", domain=DOMAIN, username="user0001", mode="questions",
        step="question", index=1, total=3, lang="en", flow_id=new_flow_id(), started=now,
        touched=now,
    )  # fmt: skip

    db = Database.open(work / "profile-data", data_key=os.urandom(32))
    record = UserRecord(DOMAIN, "user0001", enrollment={"v": 1, "questions": [stored] * 3})
    try:
        return {
            "argon2id hash (one answer)": _timed(lambda: hash_answer("Rex the dog"), 20),
            "argon2id verify (one answer)": _timed(
                lambda: verify_answer("Rex the dog", stored), 20
            ),
            "sealing (request and reply, both ends)": _timed(sealing, 200),
            "flow token seal and open": _timed(
                lambda: tokens.open(tokens.seal(state), "pwreset"), 200
            ),
            "user record save (journal + fsync)": _timed(lambda: db.users.save(record), 200),
            "audit append (fsync)": _timed(
                lambda: db.audit.append(AuditEvent("success", "reset", "u", DOMAIN, "x")), 200
            ),
        }
    finally:
        db.close()


# --- main ------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--reset-seconds", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--lab-dir", help="a folder with a running slapd lab to reuse")
    args = parser.parse_args()
    tag = secrets.token_hex(3)
    (ROOT / "build").mkdir(exist_ok=True)
    with (
        lab(args.lab_dir) as slapd,
        tempfile.TemporaryDirectory(prefix="pwreset-load-", dir=ROOT / "build") as tmp,
    ):
        work = Path(tmp)
        with load_stack(work, slapd, timeout=10.0, attempts=3) as stack:
            users = stack.create_users(f"load{tag}u", args.users, f"First!{tag}-Pw1")
            with (
                PeakRss(stack.server_meter()) as rss,
                progress("flows", args.seconds + args.warmup),
            ):
                flows, sent, cpu = simulate(stack, users, args.seconds, args.warmup, OPS)
            with progress("reset flows", args.reset_seconds + args.warmup):
                resets, more, reset_cpu = simulate(
                    stack, users, args.reset_seconds, args.warmup, ("reset",)
                )
            sent |= more
            rss_now = stack.server_meter().memory_mb()
            with progress("raw ldap3", args.seconds + args.warmup):
                raw = RawFlows(slapd, stack.lock).run(
                    users, args.seconds + args.warmup, args.warmup
                )
            leaks = find_secrets([stack.instance, slapd.root], sent | {u.password for u in users})
        pieces = profile(work)

    errors = flows.errors + resets.errors
    ops = flows.flows()
    print(f"load: {args.users} users, {args.seconds:g} s measured after {args.warmup:g} s warm-up,"
          " slapd lab, relay rate limit off, stock reply floor")  # fmt: skip
    print(_line("flows_per_second", ops / args.seconds, "flows/s",
                ("raw ldap3", raw.flows() / args.seconds)))  # fmt: skip
    print(_line("cycles_per_second (enroll+reset+unlock+change)", flows.cycles / args.seconds,
                "cycles/s"))  # fmt: skip
    for op in OPS:
        print(f"  {op}: {flows.acknowledged.get(op, 0)} acknowledged")
    print(_line("errors", len(errors), "errors"))
    if raw.errors:  # the baseline's own: the directory refused or timed out a connection
        print(_line("baseline raw ldap3 errors", len(raw.errors), "errors"))
        print(f"  {raw.errors[0].user} {raw.errors[0].detail}")
    for e in errors[:10]:
        print(f"  {e.user} {e.op}: {e.outcome} {e.detail}")
    for step, samples in flows.steps.items():
        op = step.split(" ")[0]
        whole = step.endswith("(whole flow)")
        for pct in (50, 99):
            ref = (
                ("raw ldap3 " + op, percentile(raw.steps.get(op, []), pct) * MS)
                if whole
                else ("", 0.0)
            )
            print(_line(f"{step} p{pct}", percentile(samples, pct) * MS, "ms", ref))
    print(_line("server_rss after the flows", rss_now, "MB"))
    print(_line("server_rss peak during the flows", rss.peak, "MB"))
    for name, seconds in cpu.items():
        print(_line(f"{name}_cpu", seconds / args.seconds * 100, "% of one core"))
        if ops:
            print(_line(f"{name}_cpu_per_flow", seconds / ops * MS, "ms"))
    done = resets.acknowledged.get("reset", 0)
    if done:
        per_flow = reset_cpu["server"] / done
        print(_line("reset_flows_per_second (reset only)", done / args.reset_seconds, "flows/s"))
        print(_line("server_cpu_per_reset_flow", per_flow * MS, "ms"))
        print(_line("reset_flows_per_core_second (server)", 1 / per_flow, "flows/s"))
        whole = sum(reset_cpu.values()) / done
        print(_line("reset_flows_per_core_second (server+relay+slapd)", 1 / whole, "flows/s"))
        for pct in (50, 99):
            took = percentile(resets.steps.get("reset (whole flow)", []), pct) * MS
            print(_line(f"reset (whole flow, reset only) p{pct}", took, "ms"))
    for name, seconds in pieces.items():
        print(_line(f"profile {name}", seconds * MS, "ms"))
    print(_line("secrets_found", len(leaks), "secrets in files"))


if __name__ == "__main__":
    main()
