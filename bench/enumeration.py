"""Can unknown, unenrolled and enrolled users be told apart? (issue 8, security review 5)

    .venv/bin/python bench/enumeration.py [--samples 200] [--directory openldap|ad|both]

Starts the lab directories (or reuses those in $PWRESET_LAB_DIR), a backend with the default
settings (lockout on) and the real relay in front, then for each directory:
- the replies to 6 wrong answers and a new start, per class: they must be the same;
- `--samples` rounds timing `start` and a wrong answer for each class, compared enrolled
  against unknown and unenrolled with a two-sample Kolmogorov-Smirnov test at alpha = 0.01.
One line per figure: `name: value (critical ..., ratio ...)`; a ratio below 1 means the two
samples are not distinguishable. Exits 1 if any comparison or reply sequence differs.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))


from support.enumeration import (
    CLASSES,
    comparisons,
    population,
    reply_sequence,
    timings,
)
from support.flowstack import flow_stack
from support.labs import lab_and_admin


def run(kind: str, samples: int, base: Path, work: Path) -> bool:
    with ExitStack() as stack:
        directory, admin = lab_and_admin(kind, base, stack)
        root = work / kind
        root.mkdir()
        flows = stack.enter_context(
            flow_stack(kind, directory, admin, root, {"web": {"rate_limit": 0}})
        )
        names = population(flows, "b" + secrets.token_hex(4))
        seen = {cls: reply_sequence(flows, names[cls], tries=6) for cls in CLASSES}
        same = seen["unknown"] == seen["unenrolled"] == seen["enrolled"]
        codes = " ".join(str(code or status) for status, code, _, _ in seen["enrolled"])
        print(f"{kind} replies_through_lockout: {'same' if same else 'DIFFERENT'} ({codes})")
        flows.clock.advance(flows.config.security.lockout_minutes * 60 + 1)
        measured = timings(flows, names, samples)
        for step, by_class in (("start", measured.start), ("wrong", measured.wrong)):
            for cls in CLASSES:
                median = statistics.median(by_class[cls]) * 1000
                print(f"{kind} median_{step}_{cls}: {median:.2f} ms")
        ok = same
        for name, (stat, critical) in comparisons(measured).items():
            ok = ok and stat <= critical
            ratio = stat / critical
            print(f"{kind} {name}: {stat:.3f} (critical {critical:.3f}, ratio {ratio:.2f})")
        return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--directory", choices=("openldap", "ad", "both"), default="both")
    args = parser.parse_args()
    kinds = ("openldap", "ad") if args.directory == "both" else (args.directory,)
    shared = os.environ.get("PWRESET_LAB_DIR")
    lab_dir = Path(shared) if shared else Path(tempfile.mkdtemp(prefix="pwreset-lab-"))
    work = Path(tempfile.mkdtemp(prefix="pwreset-bench-"))
    try:
        results = [run(kind, args.samples, lab_dir, work) for kind in kinds]
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if not shared:
            shutil.rmtree(lab_dir, ignore_errors=True)
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
