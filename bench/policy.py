"""The breached-password list: import time and lookup time (issue 11).

    .venv/bin/python bench/policy.py [--hashes 10000000] [--lookups 20000] [--seed 11]

Generates, in a temp folder, a synthetic Pwned Passwords download of --hashes SHA-1s (of
the passwords `bench-<seed>-<i>`, so hits can be looked up by password) in both layouts the
importer reads: the downloader's range files (00000 ... FFFFF, `SUFFIX:COUNT` lines) and one
file of `SHA1:COUNT` lines ordered by hash. Times `pwreset policy import` of each against
reading the same files without parsing (baseline), and lookups of breached and other
passwords (SHA-1 and search, p50/p99) against `bisect` over an in-memory sorted list of the
digests (baseline). One line per figure: `name: value unit (baseline ..., ratio ...)`.

With 10 million hashes a range holds about 10 of them; the whole download (about 1 billion)
holds about 900, which adds ~7 probes of well under a microsecond each to a lookup.
"""

from __future__ import annotations

import argparse
import bisect
import hashlib
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pwreset.server.passwords import BreachedList, read_ranges, write_breached_file


def line(name: str, value: float, unit: str, baseline: float, fmt: str = "{:.2f}") -> None:
    ratio = value / baseline if baseline else float("inf")
    print(
        f"{name}: {fmt.format(value)} {unit} (baseline {fmt.format(baseline)}, ratio {ratio:.2f})"
    )


def digests_of(count: int, seed: int) -> list[bytes]:
    """The sorted SHA-1s of the synthetic breached passwords."""
    digests = [hashlib.sha1(f"bench-{seed}-{i}".encode()).digest() for i in range(count)]
    digests.sort()
    return digests


def write_download(digests: list[bytes], folder: Path, seed: int) -> tuple[Path, Path]:
    """The range files and the one-file layout, with Pareto-distributed counts."""
    rng = random.Random(seed)
    ranges = folder / "ranges"
    ranges.mkdir()
    whole = folder / "pwned-passwords-sha1-ordered-by-hash.txt"
    with whole.open("w", newline="") as one_file:
        start = 0
        while start < len(digests):
            prefix = digests[start].hex().upper()[:5]
            end = start
            lines = []
            while end < len(digests) and digests[end].hex().upper()[:5] == prefix:
                lines.append(f"{digests[end].hex().upper()[5:]}:{int(rng.paretovariate(1.2))}\r\n")
                end += 1
            text = "".join(lines)
            (ranges / f"{prefix}.txt").write_text(text, newline="")
            one_file.write("".join(prefix + row for row in lines))
            start = end
    return ranges, whole


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def read_all(source: Path) -> int:
    files = sorted(source.iterdir()) if source.is_dir() else [source]
    return sum(len(path.read_bytes()) for path in files)


def lookup_times(lookup: Callable[[str], bool], passwords: list[str], expect: bool) -> list[float]:
    """Microseconds per lookup; every answer is checked against `expect`."""
    times = []
    wrong = 0
    for password in passwords:
        started = time.perf_counter_ns()
        found = lookup(password)
        times.append((time.perf_counter_ns() - started) / 1000)
        wrong += found != expect
    if wrong:
        print(
            f"bench/policy.py: {wrong} of {len(passwords)} lookups answered {not expect}",
            file=sys.stderr,
        )
    return times


def percentile(values: list[float], share: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[round(share * 100) - 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hashes", type=int, default=10_000_000)
    parser.add_argument("--lookups", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="pwreset-bench-policy-") as temp:
        folder = Path(temp)
        print(f"generating {args.hashes:,} hashes in {folder} ...", file=sys.stderr)
        digests = digests_of(args.hashes, args.seed)
        ranges, whole = write_download(digests, folder, args.seed)

        out = folder / "breached.bin"
        # Both sides read from the page cache: a first pass brings the files in.
        read_all(ranges)
        read_ranges_s = timed(lambda: read_all(ranges))
        import_ranges_s = timed(lambda: write_breached_file(out, read_ranges(ranges)))
        line("policy_import_range_files", import_ranges_s, "s", read_ranges_s)
        read_whole_s = timed(lambda: read_all(whole))
        import_whole_s = timed(lambda: write_breached_file(out, read_ranges(whole)))
        line("policy_import_one_file", import_whole_s, "s", read_whole_s)
        rate = args.hashes / import_ranges_s
        line("policy_import_rate", rate, "hashes/s", args.hashes / read_ranges_s, "{:,.0f}")

        breached = BreachedList(out)
        assert breached.entries == args.hashes, (breached.entries, args.hashes)
        hits = [f"bench-{args.seed}-{rng.randrange(args.hashes)}" for _ in range(args.lookups)]
        misses = [f"absent-{args.seed}-{i}" for i in range(args.lookups)]

        def in_list(password: str) -> bool:
            digest = hashlib.sha1(password.encode()).digest()
            at = bisect.bisect_left(digests, digest)
            return at < len(digests) and digests[at] == digest

        def in_file(password: str) -> bool:
            return breached.count(password) > 0

        for kind, passwords, expect in (("hit", hits, True), ("miss", misses, False)):
            ours = lookup_times(in_file, passwords, expect)
            base = lookup_times(in_list, passwords, expect)
            for share in (0.5, 0.99):
                name = f"policy_lookup_{kind}_p{round(share * 100)}"
                line(name, percentile(ours, share), "µs", percentile(base, share))
        in_memory = (
            sys.getsizeof(digests)
            + sum(sys.getsizeof(d) for d in digests[:1000]) * len(digests) / 1000
        )
        line("policy_file_size", out.stat().st_size / 2**20, "MiB", in_memory / 2**20, "{:.0f}")
        breached.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
