"""Reset flows per second with one and with two `pwreset server` on one PostgreSQL, and with
one server on the embedded store for comparison.

    .venv/bin/python bench/scale.py [--users 120] [--clients 48] [--seconds 40] [--quick]

Starts an OpenLDAP lab (slapd) and a PostgreSQL lab (Debian's packages, own data folder, a
free loopback port), creates the users in the directory, then runs three phases, each on a
fresh store: one server on the embedded store, one server on PostgreSQL, two servers on the
same PostgreSQL database (same keys, as docs/deploy.md describes). In each phase every user
enrolls first (not timed); then `--clients` concurrent clients walk complete reset flows
(start, three answers, new password) for `--seconds`, each taking the next free user, so
many users are reset in turn and no user has two flows at once.

What is measured: complete flows through the relay's own client (`api.relay.Relay.call`:
sealing, the UDP exchange, the reply floor) in this process; the relay's HTTP layer is left
out so that it cannot be the bottleneck. With two servers there are two relays, each in
front of its own server (as behind a load balancer): a relay sticks to one live server.
The stock reply floor (250 ms) is kept; the relay waits long for a busy server instead of
resending (a resend would cost the server the same work twice).

One line per figure: `name: value unit (baseline ..., ratio ...)`. The two-server figure's
baseline is one server on PostgreSQL (goal: ratio >= 1.8); the embedded figure's is one
server on PostgreSQL too. The machine's CPU use during each phase is printed with it: on a
2-core machine one server's Argon2id workers already fill both cores, see
docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from load import progress  # noqa: E402
from pwreset_lab import SlapdAdmin, SlapdLab, start_postgres, start_slapd  # noqa: E402

from pwreset.api.relay import Relay  # noqa: E402
from pwreset.api.settings import RelaySettings  # noqa: E402
from pwreset.config import load_config  # noqa: E402
from pwreset.instance import create_instance  # noqa: E402

from support.labs import pg_schema  # noqa: E402
from support.loadstack import _PASSWORD_ENV as DIRECTORY_PASSWORD_ENV  # noqa: E402
from support.loadstack import DOMAIN, ProcessMeter, instance_config  # noqa: E402
from support.simusers import QUESTIONS, percentile  # noqa: E402
from support.stacks import Stack, _answering, _launch, free_port  # noqa: E402

GOAL = 1.8
SITE = "pwreset"
PG_PASSWORD_ENV = "PWRESET_SCALE_PG_PASSWORD"
WAIT = 30.0  # seconds the relay waits for a busy server's reply, sent once


@dataclass
class User:
    name: str
    password: str

    def answers(self) -> list[str]:
        return [f"Answer {i} of {self.name}" for i in range(len(QUESTIONS))]


@dataclass
class Result:
    flows: int
    seconds: float
    errors: list[str]
    took: list[float]  # seconds per flow
    server_cpu: float  # seconds, all servers together
    relay_cpu: float  # seconds, this process: the relays and the clients
    store_cpu: float  # seconds, slapd and PostgreSQL
    busy: float  # share of the machine's CPU time in use

    @property
    def cpu_per_flow(self) -> float:
        """Seconds of CPU per flow: servers, relays and clients, slapd and PostgreSQL."""
        return (self.server_cpu + self.relay_cpu + self.store_cpu) / max(self.flows, 1)

    @property
    def rate(self) -> float:
        return self.flows / self.seconds


def tree_cpu(pid: int) -> float:
    """CPU seconds of `pid` and its children (PostgreSQL's backends) so far."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(stat.parent.name) == pid or int(fields[1]) == pid:
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def machine_cpu() -> tuple[int, int]:
    """(busy, total) jiffies of all cores, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


# --- the servers ----------------------------------------------------------------------------


def store_settings(dsn: str | None) -> str:
    if dsn is None:
        return ""
    return (
        f'\n[storage]\nbackend = "postgresql"\ndsn = "{dsn}"\npassword_env = "{PG_PASSWORD_ENV}"\n'
    )


PINNED = {True: ", server i on core i alone", False: ""}


def pin(pid: int, cpu: int) -> None:
    """Keep every thread of `pid` on core `cpu`; threads it starts later inherit it."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(ProcessLookupError):
            os.sched_setaffinity(int(task.name), {cpu})


@contextlib.contextmanager
def servers(
    root: Path, slapd: SlapdLab, count: int, dsn: str | None, env: dict[str, str],
    core_each: bool = False,
) -> Iterator[list[Stack]]:  # fmt: skip
    """`count` servers of one instance (the same keys) on the store `dsn` (None: embedded);
    with `core_each`, server i runs on core i alone."""
    stacks: list[Stack] = []
    try:
        for index in range(count):
            udp = free_port("udp")
            text = instance_config("openldap", slapd, udp, timeout=WAIT, attempts=1)
            text += store_settings(dsn)
            instance = root / f"server{index}"
            if stacks:  # the second server of the same instance: the same keys
                shutil.copytree(stacks[0].instance / "keys", instance / "keys")
                (instance / "pwreset.toml").write_text(text)
            else:
                create_instance(instance, config_text=text)
            config = load_config(instance / "pwreset.toml")
            output = instance / "server.out"
            process = _launch(instance, env, output)
            stacks.append(Stack("openldap", DOMAIN, instance, config, process,
                                instance / "server.log", output, env))  # fmt: skip
            _answering(stacks[-1])
            if core_each:
                pin(process.pid, index)
        yield stacks
    finally:
        for stack in stacks:
            stack.stop()


# --- the clients ----------------------------------------------------------------------------


async def enroll(relay: Relay, user: User) -> None:
    answers = [{"question": q, "answer": a} for q, a in zip(QUESTIONS, user.answers(), strict=True)]
    body = {"domain": DOMAIN, "username": user.name, "password": user.password, "lang": "en",
            "answers": answers}  # fmt: skip
    await relay.call(SITE, "enroll", body, "192.0.2.10")


async def reset(relay: Relay, user: User, new_password: str) -> None:
    """One complete reset flow; the user's password is the new one afterwards."""
    ip = "192.0.2.10"
    started = await relay.call(SITE, "reset.start", {"domain": DOMAIN, "username": user.name}, ip)
    token = started["flow"]
    for answer in user.answers():
        step = await relay.call(SITE, "reset.step", {"flow": token, "answer": answer}, ip)
        token = step["flow"]
    done = await relay.call(SITE, "reset.step", {"flow": token, "new_password": new_password}, ip)
    if done.get("status") != "done":
        raise RuntimeError(f"the flow ended with {done!r}")
    user.password = new_password


async def enroll_all(relays: list[Relay], users: list[User], clients: int) -> None:
    gate = asyncio.Semaphore(clients)

    async def one(index: int, user: User) -> None:
        async with gate:
            await enroll(relays[index % len(relays)], user)

    await asyncio.gather(*(one(i, u) for i, u in enumerate(users)))


async def run_flows(
    relays: list[Relay], users: list[User], clients: int, seconds: float, warmup: float
) -> tuple[int, list[str], list[float]]:
    """Flows completed within the measured `seconds` after `warmup`, errors, durations."""
    free: asyncio.Queue[User] = asyncio.Queue()
    for user in users:
        free.put_nowait(user)
    start = time.monotonic()
    measured_from, end = start + warmup, start + warmup + seconds
    done: list[float] = []
    errors: list[str] = []
    tag = secrets.token_hex(3)
    counter = iter(range(10**9))

    async def client(index: int) -> None:
        relay = relays[index % len(relays)]
        while time.monotonic() < end:
            user = await free.get()
            began = time.monotonic()
            try:
                await reset(relay, user, f"Scale!{tag}-{next(counter)}Pw")
            except Exception as error:  # each is reported
                errors.append(f"{user.name}: {type(error).__name__} {error}")
            else:
                finished = time.monotonic()
                if measured_from <= finished <= end:
                    done.append(finished - began)
            free.put_nowait(user)

    await asyncio.gather(*(client(i) for i in range(clients)))
    return len(done), errors, done


def phase(
    root: Path, slapd: SlapdLab, users: list[User], args: argparse.Namespace, count: int,
    dsn: str | None, env: dict[str, str], label: str, store_pids: list[int],
) -> Result:  # fmt: skip
    with servers(root, slapd, count, dsn, env, args.core_per_server) as stacks:
        relays = []
        for stack in stacks:
            settings = RelaySettings.from_config(stack.config)
            relays.append(Relay(settings))
        with progress(f"{label}: enroll", 0):
            asyncio.run(enroll_all(relays, users, args.clients))
        meters = [ProcessMeter(s.process.pid) for s in stacks]
        before = sum(m.cpu_seconds() for m in meters)
        mine = time.process_time()
        others = sum(tree_cpu(pid) for pid in store_pids)
        busy0, total0 = machine_cpu()
        with progress(f"{label}: reset flows", args.seconds + args.warmup):
            flows, errors, took = asyncio.run(
                run_flows(relays, users, args.clients, args.seconds, args.warmup)
            )
        busy1, total1 = machine_cpu()
        cpu = sum(m.cpu_seconds() for m in meters) - before
        relay_cpu = time.process_time() - mine
        store_cpu = sum(tree_cpu(pid) for pid in store_pids) - others
    busy = (busy1 - busy0) / (total1 - total0)
    return Result(flows, args.seconds, errors, took, cpu, relay_cpu, store_cpu, busy)


# --- main -----------------------------------------------------------------------------------


def line(name: str, value: float, unit: str, baseline: str, ref: float) -> str:
    ratio = value / ref if ref else 0.0
    return f"{name}: {value:.4g} {unit} (baseline {baseline} {ref:.4g} {unit}, ratio {ratio:.3g})"


def report(label: str, result: Result) -> None:
    cores = os.cpu_count() or 1
    flows = max(result.flows, 1)
    per_flow, relay = result.server_cpu / flows * 1000, result.relay_cpu / flows * 1000
    store = result.store_cpu / flows * 1000
    print(f"  {label}: {result.flows} flows in {result.seconds:g} s, {len(result.errors)} errors, "
          f"flow p50 {percentile(result.took, 50):.2f} s, p99 {percentile(result.took, 99):.2f} s, "
          f"CPU per flow {per_flow:.0f} ms servers, {relay:.0f} ms relays and clients, "
          f"{store:.0f} ms slapd and PostgreSQL, "
          f"machine CPU busy {result.busy:.0%} of {cores} cores")  # fmt: skip
    for error in result.errors[:5]:
        print(f"    {error}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--users", type=int, default=120)
    parser.add_argument("--clients", type=int, default=48)
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--quick", action="store_true", help="a short run: 40 users, 10 s")
    parser.add_argument(
        "--core-per-server",
        action="store_true",
        help="server i on core i alone, as if each had a machine of its own (the others run "
        "wherever the scheduler puts them); needs as many cores as servers",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.users, args.clients, args.seconds, args.warmup = 40, 24, 10.0, 2.0
    tag = secrets.token_hex(3)
    with tempfile.TemporaryDirectory(prefix="pwreset-scale-") as tmp:
        work = Path(tmp)
        work.chmod(0o711)  # PostgreSQL runs as an unprivileged user when this runs as root
        slapd = start_slapd(work / "slapd")
        try:
            postgres = start_postgres(work / "postgres")
            try:
                env = {**os.environ, DIRECTORY_PASSWORD_ENV: slapd.service_password,
                       PG_PASSWORD_ENV: postgres.password}  # fmt: skip
                admin = SlapdAdmin(slapd)
                users = [User(f"scale{tag}u{i:04d}", f"First!{tag}-Pw1") for i in range(args.users)]
                for user in users:
                    admin.create_user(user.name, user.password)
                results: dict[str, Result] = {}
                for label, count, store in (("one server, PostgreSQL", 1, "pg"),
                                            ("two servers, PostgreSQL", 2, "pg"),
                                            ("one server, embedded store", 1, None)):  # fmt: skip
                    with contextlib.ExitStack() as stack:
                        dsn = stack.enter_context(pg_schema(postgres, "scale_")) if store else None
                        root = work / f"phase{len(results)}"
                        pids = [slapd.pid, postgres.pid]
                        results[label] = phase(root, slapd, users, args, count, dsn, env, label,
                                               pids)  # fmt: skip
            finally:
                postgres.stop()
        finally:
            slapd.stop()

    one = results["one server, PostgreSQL"]
    two = results["two servers, PostgreSQL"]
    embedded = results["one server, embedded store"]
    print(f"scale: {args.users} users, {args.clients} concurrent clients, {args.seconds:g} s "
          f"measured after {args.warmup:g} s warm-up per phase, slapd lab, "
          "stock reply floor" + PINNED[args.core_per_server])  # fmt: skip
    for label, result in results.items():
        report(label, result)
    base = "one server on PostgreSQL"
    print(line("reset_flows_per_second one server PostgreSQL", one.rate, "flows/s",
               "one server on the embedded store", embedded.rate))  # fmt: skip
    ratio = two.rate / one.rate if one.rate else 0.0
    verdict = "PASS" if ratio >= GOAL else "FAIL"
    print(line("reset_flows_per_second two servers PostgreSQL", two.rate, "flows/s", base, one.rate)
          + f" goal >= {GOAL}: {verdict}")  # fmt: skip
    print(line("reset_flows_per_second one server embedded store", embedded.rate, "flows/s", base,
               one.rate))  # fmt: skip
    for label, result in results.items():  # CPU of every process a flow runs through
        print(line(f"cpu_per_reset_flow {label}", result.cpu_per_flow * 1000, "ms", base,
                   one.cpu_per_flow * 1000))  # fmt: skip
    errors = sum(len(r.errors) for r in results.values())
    print(f"errors: {errors} errors (baseline 0 errors, ratio {'n/a' if errors else '1'})")
    return 0 if ratio >= GOAL and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
