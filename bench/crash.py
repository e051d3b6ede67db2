"""Crash: `kill -9` of `pwreset server` while users walk complete flows over HTTP (issue 9).

    .venv/bin/python bench/crash.py [--rounds 10] [--users 200]

Starts an OpenLDAP lab, `pwreset server` and `pwreset web` (stock relay timeout and
attempts), and per round: users enroll, reset, unlock and change until the server is
killed at a random moment (5-20 s after the first acknowledged operation); once every
user heard `server_unreachable`, the server is started again and the data checked (see
tests/support/crashrounds.py). One line per figure: `name: value unit (...)`.
"""

from __future__ import annotations

import argparse
import random
import secrets
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from load import lab, progress  # noqa: E402

from pwreset.protocol import client  # noqa: E402

from support.crashrounds import CrashRounds, RoundReport  # noqa: E402
from support.loadstack import load_stack, relay_budget  # noqa: E402
from support.secrets_scan import find_secrets  # noqa: E402

TIMEOUT, ATTEMPTS = client.TIMEOUT, client.ATTEMPTS  # the stock [web] timeout and attempts


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument(
        "--kill-after",
        type=float,
        nargs=2,
        default=(5.0, 20.0),
        help="seconds (random, in this range) from the first acknowledged operation to the kill",
    )
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--lab-dir", help="a folder with a running slapd lab to reuse")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    tag = secrets.token_hex(3)
    (ROOT / "build").mkdir(exist_ok=True)
    reports: list[RoundReport] = []
    budget = relay_budget(TIMEOUT, ATTEMPTS)
    with (
        lab(args.lab_dir) as slapd,
        tempfile.TemporaryDirectory(prefix="pwreset-crash-", dir=ROOT / "build") as tmp,
        load_stack(Path(tmp), slapd, timeout=TIMEOUT, attempts=ATTEMPTS) as stack,
    ):
        users = stack.create_users(f"crash{tag}u", args.users, f"First!{tag}-Pw1")
        rounds = CrashRounds(stack, users, request_timeout=budget + 10)
        for _ in range(args.rounds):
            kill_after = rng.uniform(*args.kill_after)
            with progress(f"round {len(reports) + 1}", kill_after + budget):
                reports.append(rounds.run_round(kill_after))
        wrong = [u.name for u in users if not stack.admin.bind_ok(u.name, u.password)]
        leaks = find_secrets([stack.instance, slapd.root], rounds.secrets)

    def total(name: str) -> int:
        return sum(len(v) if isinstance(v := getattr(r, name), list) else v for r in reports)

    acknowledged = total("acknowledged")
    low, high = args.kill_after
    print(
        f"crash: {args.users} users, kill -9 after {low:g}-{high:g} s per round, "
        f"relay budget {budget:g} s (stock)"
    )
    print(f"crash_rounds: {len(reports)} rounds ({acknowledged} operations acknowledged)")
    print(f"crash_lost_acknowledged: {total('lost')} operations (of {acknowledged} acknowledged)")
    completed, nothing = total("unknown_completed"), total("unknown_not_done")
    print(
        f"crash_half_written: {total('half_written')} operations "
        f"(no reply: {completed} completed, {nothing} left nothing)"
    )
    print(f"crash_server_unreachable: {total('unreachable')} replies (bad replies or hangs: "
          f"{total('bad_replies')}; request bound {budget + 10:g} s)")  # fmt: skip
    restarts = sorted(r.restart_seconds for r in reports)
    median, worst = restarts[len(restarts) // 2], restarts[-1]
    print(f"crash_restart_time: {median:.3g} s (median; max {worst:.3g} s)")
    print(f"crash_wrong_password_after: {len(wrong)} users")
    print(f"secrets_found: {len(leaks)} secrets in files")
    for report in reports:
        for line in (*report.lost, *report.half_written, *report.bad_replies)[:10]:
            print(f"  {line}")


if __name__ == "__main__":
    main()
