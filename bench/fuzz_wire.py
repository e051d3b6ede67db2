"""Datagram fuzzing, full run (issue 9).

    .venv/bin/python bench/fuzz_wire.py [--datagrams 100000] [--baseline 10000]
                                        [--codes-share 0.1] [--replies 100000]

Starts an OpenLDAP lab (slapd), writes an instance on it, and drives a real ResetService
(real Flows, store, replay journal, slapd) with hypothesis-generated scenarios from
tests/support/wire_fuzz.py: mutations of valid seals, replays, reorderings, copies from a
second address, seals without the relay key or for a rotated or unknown key, stale ones,
random bytes, and valid seals around fuzzed JSON. A share of them (--codes-share) goes to a
second instance with verification codes on, so code steps and decoy codes are fuzzed too.
Then the relay's reply parser (the exchange's listener: open_reply, decode_reply) gets
--replies datagrams. The baseline is a loop of --baseline valid requests through the same
service: its RSS growth, table sizes and rate. One line per figure:
`name: value unit (baseline ..., ratio ...)`.

RSS is read after gc and malloc_trim. It climbs early and then stays: each worker
thread's first Argon2 run (19 MiB) stays in its glibc arena, up to workers x 19 MiB per
service (the high-water line, untrimmed). `fuzz_wire_rss_growth_last_quarter` is the figure
that would show a leak: what the last quarter of the run added.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import gc
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from pwreset_lab import SlapdAdmin, start_slapd

from support.wire_fuzz import (
    CLOCK_SKEW,
    USER_PASSWORD,
    FuzzContext,
    ReplyTarget,
    Stats,
    WireTarget,
    enrolled_context,
    fuzz,
    fuzz_instance,
    fuzz_replies,
    quiet,
    rss_bytes,
    valid_loop,
)

MIB = 1024 * 1024


def line(name: str, value: float, unit: str, baseline: float | None, fmt: str = "{:.0f}") -> None:
    if baseline is None:
        print(f"{name}: {fmt.format(value)} {unit}")
        return
    ratio = f"{value / baseline:.2f}" if baseline else ("1.00" if value == 0 else "inf")
    print(f"{name}: {fmt.format(value)} {unit} (baseline {fmt.format(baseline)}, ratio {ratio})")


@contextmanager
def progress(total: int, label: str) -> Iterator[Callable[[int], None]]:
    """A rich progress bar on a terminal; nothing otherwise."""
    if not sys.stderr.isatty():
        yield lambda done: None
        return
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda done: bar.update(task, completed=done)


def live_rss() -> int:
    """RSS once the garbage is collected and glibc has handed back the free pages of every
    arena: without the trim, each worker thread's first Argon2 run (19 MiB, kept in its
    arena once it raised glibc's mmap threshold) reads as growth, and hides a leak."""
    gc.collect()
    ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)
    return rss_bytes()


class Measure:
    """RSS and time across one phase. (The suite's bounded run measures the heap with
    tracemalloc; over this many datagrams it would cost more than the fuzzing.)"""

    def __enter__(self) -> Measure:
        self.rss = live_rss()
        self.raw_rss = rss_bytes()
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.started
        self.raw_growth = rss_bytes() - self.raw_rss
        self.rss_growth = live_rss() - self.rss


def settle(target: WireTarget) -> dict[str, int]:
    """Wait out the window, send one request so the tables prune; their sizes then."""
    time.sleep(2 * CLOCK_SKEW + 1)
    target.run([target.valid(target.request("ping", {}))])
    target.forget_sends()
    return target.sizes()


def make_target(root: Path, lab: Any, user: str, *, codes: bool) -> FuzzContext:
    config = fuzz_instance(root, "openldap", lab, codes=codes)
    return enrolled_context(WireTarget(config), user)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datagrams", type=int, default=100_000)
    parser.add_argument("--baseline", type=int, default=10_000)
    parser.add_argument("--codes-share", type=float, default=0.1)
    parser.add_argument("--replies", type=int, default=100_000)
    args = parser.parse_args()

    base = Path(tempfile.mkdtemp(prefix="pwreset-fuzzwire-"))
    lab = start_slapd(base / "slapd")
    try:
        SlapdAdmin(lab).create_user("fuzzer", USER_PASSWORD)
        ctx = make_target(base / "plain", lab, "fuzzer", codes=False)
        coded = make_target(base / "codes", lab, "fuzzer", codes=True)
        target = ctx.target
        with quiet("pwreset.server"):
            fuzz(ctx, 1000)  # warm-up: connections, caches, the first journal segments
            valid_loop(ctx, 200)
            target.stats = Stats()
            with Measure() as baseline:
                base_stats = valid_loop(ctx, args.baseline)
            base_sizes = dict(base_stats.sizes)
            base_count = base_stats.datagrams
            target.stats = Stats()
            target.service.counters.rejected.clear()
            coded_count = int(args.datagrams * args.codes_share)
            plain_count = args.datagrams - coded_count
            with progress(args.datagrams, "datagrams") as tick, Measure() as run:
                # The process's memory reaches its high-water mark early (each worker
                # thread's first Argon2 run, glibc's arenas, connections): the last
                # quarter shows whether anything still grows with the traffic.
                fuzz(ctx, plain_count * 3 // 4, progress=tick)
                with Measure() as last_quarter:
                    stats = fuzz(ctx, plain_count, progress=tick)
                stats_coded = fuzz(coded, coded_count, progress=lambda n: tick(stats.datagrams + n))
            final = settle(target)
            settle(coded.target)
            reply_target = ReplyTarget()
            with progress(args.replies, "replies") as tick:
                started = time.perf_counter()
                fuzz_replies(reply_target, args.replies)
                reply_seconds = time.perf_counter() - started
        report(stats, stats_coded, run, baseline, base_sizes, base_count, final, args.datagrams)
        growth = last_quarter.rss_growth / MIB
        line(
            "fuzz_wire_rss_growth_last_quarter", growth, "MiB", baseline.rss_growth / MIB, "{:.1f}"
        )
        untrimmed = run.raw_growth / MIB
        line("fuzz_wire_rss_high_water", untrimmed, "MiB", baseline.raw_growth / MIB, "{:.1f}")
        line("fuzz_wire_reply_datagrams", reply_target.datagrams, "datagrams", args.replies)
        forged = len(reply_target.violations)
        line("fuzz_wire_reply_violations", forged, "datagrams", 0)
        line("fuzz_wire_reply_rate", reply_target.datagrams / reply_seconds, "datagrams/s", None)
        for text in reply_target.violations[:20]:
            print(f"  reply violation: {text}", file=sys.stderr)
        coded.target.close()
        target.close()
    finally:
        lab.stop()


def report(
    stats: Stats,
    stats_coded: Stats,
    run: Measure,
    baseline: Measure,
    base_sizes: dict[str, int],
    base_count: int,
    final: dict[str, int],
    wanted: int,
) -> None:
    total = stats.datagrams + stats_coded.datagrams
    line("fuzz_wire_datagrams", total, "datagrams", wanted)
    line("fuzz_wire_datagrams_with_codes", stats_coded.datagrams, "datagrams", None)
    served = stats.dispatched + stats_coded.dispatched
    line("fuzz_wire_dispatched", served, "requests", None)
    replies = stats.replies + stats_coded.replies
    past_crypto = sum(n for code, n in replies.items() if code != "ok")
    line("fuzz_wire_refused_by_flow_checks", past_crypto, "requests", None)
    for name, found in (
        ("accepted_forgeries", stats.forgeries + stats_coded.forgeries),
        ("crashes", stats.crashes + stats_coded.crashes),
        ("hangs", stats.hangs + stats_coded.hangs),
        ("misdirected_replies", stats.misdirected + stats_coded.misdirected),
        ("lost_valid_requests", stats.liveness + stats_coded.liveness),
    ):
        line(f"fuzz_wire_{name}", len(found), "datagrams", 0)
        for text in found[:20]:
            print(f"  {name}: {text}", file=sys.stderr)
    rate = total / run.seconds
    line("fuzz_wire_rate", rate, "datagrams/s", base_count / baseline.seconds)
    line("fuzz_wire_slowest_datagram", 1000 * stats.slowest_call, "ms", None, "{:.1f}")
    line("fuzz_wire_rss_growth", run.rss_growth / MIB, "MiB", baseline.rss_growth / MIB, "{:.1f}")
    for table in ("replay_guard", "reply_cache", "in_flight", "journal_files"):
        line(f"fuzz_wire_{table}_max", stats.sizes[table], "entries", base_sizes[table])
    left = sum(final[t] for t in ("replay_guard", "reply_cache", "in_flight", "tasks"))
    line("fuzz_wire_tables_after_window", left, "entries", None)
    rejected = stats.rejected + stats_coded.rejected
    print("# rejected by reason: " + ", ".join(f"{k} {v}" for k, v in rejected.most_common()))
    print("# replies by code: " + ", ".join(f"{k} {v}" for k, v in replies.most_common()))
    kinds = stats.kinds + stats_coded.kinds
    print("# datagrams by kind: " + ", ".join(f"{k} {v}" for k, v in kinds.most_common()))


if __name__ == "__main__":
    # A SIGTERM unwinds like Ctrl-C, so the slapd lab this run started is stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    main()
