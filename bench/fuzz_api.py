"""Fuzz the HTTP API of the real stack with schemathesis: the full run (issue 9).

    unshare -n bash -c 'ip link set lo up && .venv/bin/python bench/fuzz_api.py'
    .venv/bin/python bench/fuzz_api.py [--requests 10000] [--seed 0]

Starts an OpenLDAP lab (or reuses the one in $PWRESET_LAB_DIR/slapd), `pwreset server`
and `pwreset web` as admins run them (tests/support/api_fuzz.py), then sends at least
--requests generated requests: every operation of the relay's OpenAPI document with valid
and invalid data, and stateful start -> step sequences along the document's links. Every
reply must be free of 5xx, documented (status, content type, headers, body) and every error
a problem+json with a code the document lists. One line per figure,
`name: value unit (baseline ..., ratio ...)`, then each distinct failure; exit status 1 when
there is any. Progress shows on a terminal only.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from pwreset_lab import SlapdAdmin, SlapdLab, start_slapd
from rich.progress import Progress

from support.api_fuzz import fuzz, fuzz_stack

BASELINE_REQUESTS = 10_000
OPERATIONS = 11  # in the document, openapi.json included


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=BASELINE_REQUESTS)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pwreset-apifuzz-")))
        shared = os.environ.get("PWRESET_LAB_DIR")
        lab = SlapdLab.running(Path(shared) / "slapd") if shared else None
        if lab is None:
            lab = start_slapd(work / "slapd")
            stack.callback(lab.stop)
        target = stack.enter_context(fuzz_stack(work, lab, SlapdAdmin(lab)))
        progress = None
        if sys.stdout.isatty():
            bar = stack.enter_context(Progress(transient=True))
            task = bar.add_task("fuzzing the API", total=args.requests)

            def progress(done: int) -> None:
                bar.update(task, completed=done)

        started = time.monotonic()
        run = fuzz(target, args.requests, seed=args.seed, progress=progress)
        took = time.monotonic() - started
    errors = sum(count for status, count in run.statuses.items() if status >= 500)
    ratio = run.total / BASELINE_REQUESTS
    print(
        f"fuzz_api_requests: {run.total} requests (baseline {BASELINE_REQUESTS}, ratio {ratio:.2f})"
    )
    print(f"fuzz_api_failures: {len(run.failures)} failures (baseline 0, ratio n/a)")
    print(f"fuzz_api_5xx: {errors} replies (baseline 0, ratio n/a)")
    print(f"fuzz_api_rate: {run.total / took:.0f} requests/s (baseline n/a, ratio n/a)")
    covered = len(run.requests)
    ops = f"{covered} operations (baseline {OPERATIONS}, ratio {covered / OPERATIONS:.2f})"
    print(f"fuzz_api_operations: {ops}")
    print("# statuses: " + ", ".join(f"{s}: {n}" for s, n in sorted(run.statuses.items())))
    print("# codes and steps: " + ", ".join(f"{c}: {n}" for c, n in run.codes.most_common()))
    for failure in run.failures.values():
        print(f"\n{failure}")
    return 1 if run.failures or errors else 0


if __name__ == "__main__":
    sys.exit(main())
