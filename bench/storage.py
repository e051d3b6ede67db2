"""Benchmark of the embedded store at 100,000 enrolled users (issue 5).

    .venv/bin/python bench/storage.py [--users 100000] [--baseline-users 20000] [--dir DIR]

Measures, in one run: enroll write p50/p99 and lookup time on a store of --users users,
server start time (Database.open) and RSS in a fresh process; the same figures for stock
TinyDB JSONStorage (at --baseline-users, since it is O(n) per operation) and a raw
fsync'd append of one record. One line per figure: `name: value unit (baseline ..., ratio ...)`.
The store goes through the same TinyDB tables as the server's (`Database.users`).

Its files go to a temporary folder under --dir (default: `build/` in the checkout, created
if missing), not to /tmp, which may be a RAM disk where fsync costs nothing.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

KEY = b"b" * 32
QUESTIONS = [
    "What was the name of your first pet?",
    "In which city did your parents meet?",
    "What was the make of your first car?",
]


def _hash() -> str:
    salt = base64.b64encode(os.urandom(16)).decode().rstrip("=")
    digest = base64.b64encode(os.urandom(32)).decode().rstrip("=")
    return f"$argon2id$v=19$m=65536,t=3,p=4${salt}${digest}"


def enrollment() -> dict[str, Any]:
    """What an enrollment holds: the questions and a slow salted hash per answer."""
    return {"v": 1, "questions": QUESTIONS, "answers": [_hash() for _ in QUESTIONS]}


def _name(i: int) -> str:
    return f"user{i:06d}"


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


# -- pwreset store ------------------------------------------------------------------------


def populate(data_dir: Path, users: int) -> float:
    from pwreset.server.storage import Database, UserRecord

    started = time.perf_counter()
    with Database.open(data_dir, data_key=KEY) as db:
        for i in range(users):
            db.users.save(
                UserRecord(
                    "LAB",
                    _name(i),
                    email=f"{_name(i)}@example.org",
                    enrollment=enrollment(),
                    last_enroll=time.time(),
                )
            )
    return time.perf_counter() - started


def measure_store(data_dir: Path, users: int) -> dict[str, float]:
    """Runs in a fresh process: start, RSS, then writes and lookups."""
    started = time.perf_counter()
    from tinydb import Query

    from pwreset.server.storage import Database, UserRecord

    db = Database.open(data_dir, data_key=KEY)
    start = time.perf_counter() - started
    rss = _rss_mb()
    writes = []
    for i in range(2000):
        record = UserRecord(
            "LAB",
            f"new{i:05d}",
            email="n@example.org",
            enrollment=enrollment(),
            last_enroll=time.time(),
        )
        t = time.perf_counter()
        db.users.save(record)
        writes.append(time.perf_counter() - t)
    # The same again while a compaction (a full snapshot) runs beside the writers.
    compactor = threading.Thread(target=db.storage.compact)
    compactor.start()
    during = []
    i = 0
    while compactor.is_alive() or i < 200:
        record = UserRecord(
            "LAB",
            f"busy{i:06d}",
            email="n@example.org",
            enrollment=enrollment(),
            last_enroll=time.time(),
        )
        t = time.perf_counter()
        db.users.save(record)
        during.append(time.perf_counter() - t)
        i += 1
    compactor.join()
    rng = random.Random(1)
    lookups = []
    for _ in range(20000):
        name = _name(rng.randrange(users))
        t = time.perf_counter()
        found = db.users.get("lab", name)
        lookups.append(time.perf_counter() - t)
        assert found is not None and found.enrollment is not None
    # The same lookup as a tinydb Query: TinyDB has no index, so it decodes the table up
    # to the match. This is why documents are filed under their keys.
    user = Query()
    table = db.tables.table("users")
    scans = []
    for _ in range(5):
        name = _name(rng.randrange(users))
        t = time.perf_counter()
        doc = table.get((user.domain == "LAB") & (user.username == name))
        scans.append(time.perf_counter() - t)
        assert doc is not None
    db.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "start": start,
        "rss": rss,
        "peak_rss": peak,
        "write_p50": _percentile(writes, 50),
        "write_p99": _percentile(writes, 99),
        "compacting_p50": _percentile(during, 50),
        "compacting_p99": _percentile(during, 99),
        "compacting_n": len(during),
        "lookup_mean": statistics.fmean(lookups),
        "lookup_p99": _percentile(lookups, 99),
        "query_lookup_mean": statistics.fmean(scans),
    }


# -- stock TinyDB ---------------------------------------------------------------------------


def populate_tinydb(path: Path, users: int) -> None:
    """Written as one JSON document (inserting one by one would take hours)."""
    docs = {
        str(i + 1): {
            "domain": "LAB",
            "username": _name(i),
            "email": f"{_name(i)}@example.org",
            "enrollment": enrollment(),
            "last_enroll": time.time(),
        }
        for i in range(users)
    }
    path.write_text(json.dumps({"users": docs}))


def measure_tinydb(path: Path, users: int, samples: int) -> dict[str, float]:
    started = time.perf_counter()
    from tinydb import Query, TinyDB

    db = TinyDB(path)
    table = db.table("users")
    len(table)  # the first read loads the file
    start = time.perf_counter() - started
    rss = _rss_mb()
    writes = []
    for i in range(samples):
        doc = {"domain": "LAB", "username": f"new{i:05d}", "enrollment": enrollment()}
        t = time.perf_counter()
        table.insert(doc)
        writes.append(time.perf_counter() - t)
    rng = random.Random(1)
    lookups = []
    user = Query()
    for _ in range(samples):
        name = _name(rng.randrange(users))
        t = time.perf_counter()
        table.clear_cache()
        found = table.get((user.domain == "LAB") & (user.username == name))
        lookups.append(time.perf_counter() - t)
        assert found is not None
    db.close()
    return {
        "start": start,
        "rss": rss,
        "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "write_p50": _percentile(writes, 50),
        "write_p99": _percentile(writes, 99),
        "lookup_mean": statistics.fmean(lookups),
        "lookup_p99": _percentile(lookups, 99),
    }


def measure_raw_append(path: Path, samples: int = 2000) -> dict[str, float]:
    """The floor: one ~1 KB record appended and fdatasync'd, nothing else."""
    record = b"x" * 1100
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    writes = []
    for _ in range(samples):
        t = time.perf_counter()
        os.write(fd, record)
        os.fdatasync(fd)
        writes.append(time.perf_counter() - t)
    os.close(fd)
    return {"write_p50": _percentile(writes, 50), "write_p99": _percentile(writes, 99)}


def _in_fresh_process(kind: str, path: Path, users: int, samples: int = 0) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--measure", kind, str(path), str(users), str(samples)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def _line(name: str, value: float, unit: str, *refs: tuple[str, float], target: float = 0) -> str:
    """`name: value unit (baseline ..., ratio ...; ...) [target]`."""
    text = f"{name}: {value:.4g} {unit}"
    shown = [f"{label} {ref:.4g} {unit}, ratio {value / ref:.3g}" for label, ref in refs if ref]
    if shown:
        text += " (" + "; ".join(shown) + ")"
    if target:
        text += f" [target <= {target:g} {unit}: {'PASS' if value <= target else 'FAIL'}]"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--baseline-users", type=int, default=20_000)
    parser.add_argument("--baseline-samples", type=int, default=30)
    parser.add_argument(
        "--dir",
        type=Path,
        default=Path(__file__).resolve().parent.parent / "build",
        help="where the temporary store goes (default: build/ in the checkout)",
    )
    parser.add_argument("--measure", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        kind, path, users, samples = args.measure
        if kind == "store":
            result = measure_store(Path(path), int(users))
        else:
            result = measure_tinydb(Path(path), int(users), int(samples))
        print(json.dumps(result))
        return

    args.dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="pwreset-bench-", dir=args.dir) as tmp:
        work = Path(tmp)
        took = populate(work / "data", args.users)
        print(f"populated: {args.users} users in {took:.1f} s (each save journaled + fsync'd)")
        ours = _in_fresh_process("store", work / "data", args.users)
        populate_tinydb(work / "tinydb.json", args.baseline_users)
        stock = _in_fresh_process(
            "tinydb", work / "tinydb.json", args.baseline_users, args.baseline_samples
        )
        raw = measure_raw_append(work / "raw.bin")
        size = sum(p.stat().st_size for p in (work / "data").rglob("*") if p.is_file())

    ms = 1000.0
    stock_at = f"baseline stock TinyDB JSONStorage at {args.baseline_users} users"
    raw_at = "raw fsync'd append"
    print(f"store size on disk: {size / 2**20:.1f} MB for {args.users} users")
    print(f"baseline samples: {args.baseline_samples}; raw append = 1.1 KB write + fdatasync")
    for key, name, target in (
        ("write_p50", "enroll write p50", 0.0),
        ("write_p99", "enroll write p99", 2.0),
    ):
        print(
            _line(
                name,
                ours[key] * ms,
                "ms",
                (stock_at, stock[key] * ms),
                (raw_at, raw[key] * ms),
                target=target,
            )
        )
    print(
        _line(
            f"enroll write p50 during a compaction ({int(ours['compacting_n'])} writes)",
            ours["compacting_p50"] * ms,
            "ms",
            (raw_at, raw["write_p50"] * ms),
        )
    )
    print(
        _line(
            f"enroll write p99 during a compaction ({int(ours['compacting_n'])} writes)",
            ours["compacting_p99"] * ms,
            "ms",
            (raw_at, raw["write_p99"] * ms),
        )
    )
    for key, name in (("lookup_mean", "lookup mean"), ("lookup_p99", "lookup p99")):
        print(_line(name, ours[key] * ms, "ms", (stock_at, stock[key] * ms), target=0.1))
    print(
        _line(
            "lookup by tinydb Query (a scan; 5 samples)",
            ours["query_lookup_mean"] * ms,
            "ms",
            (stock_at, stock["lookup_mean"] * ms),
        )
    )
    print(
        _line(
            "server start (Database.open)", ours["start"], "s", (stock_at, stock["start"]), target=2
        )
    )
    print(_line("RSS after start", ours["rss"], "MB", (stock_at, stock["rss"]), target=150))
    print(
        _line(
            "peak RSS (whole measuring run)",
            ours["peak_rss"],
            "MB",
            (stock_at, stock["peak_rss"]),
            target=150,
        )
    )


if __name__ == "__main__":
    main()
