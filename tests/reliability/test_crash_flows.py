"""`kill -9` of `pwreset server` while users walk complete flows over HTTP, twice: after each
restart every acknowledged operation is in the database and the audit log, the ones
without a reply completed everywhere or left nothing, and the relay answered
`server_unreachable` while the server was down, never hanging (the bounded form of
bench/crash.py, issue 9)."""

from __future__ import annotations

import random
import secrets
from pathlib import Path

import pytest

from pwreset.protocol import client

from support.crashrounds import CrashRounds
from support.loadstack import load_stack, relay_budget
from support.secrets_scan import assert_no_secrets

pytestmark = [pytest.mark.slapd, pytest.mark.samba, pytest.mark.slow]

ROUNDS = 2
USERS = 20
# The stock relay settings: 1 s, doubled, 4 sends (15 s in all).
TIMEOUT, ATTEMPTS = client.TIMEOUT, client.ATTEMPTS  # the stock [web] values


@pytest.mark.parametrize("lab_name", ["slapd_lab", "samba_lab"])
def test_kill_during_flows_loses_nothing_acknowledged(
    lab_name: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    lab = request.getfixturevalue(lab_name)
    rng = random.Random(9)
    tag = secrets.token_hex(3)
    with load_stack(tmp_path, lab, timeout=TIMEOUT, attempts=ATTEMPTS) as stack:
        users = stack.create_users(f"cr{tag}", USERS, f"First!{tag}-Pw1")
        rounds = CrashRounds(stack, users, request_timeout=relay_budget(TIMEOUT, ATTEMPTS) + 10)
        for number in range(ROUNDS):
            report = rounds.run_round(kill_after=rng.uniform(2.0, 6.0))
            assert report.bad_replies == [], f"round {number}"
            assert report.lost == [], f"round {number}"
            assert report.half_written == [], f"round {number}"
            assert report.acknowledged > 0, f"round {number}: nothing was acknowledged"
            # Every user was cut off by the kill and heard server_unreachable.
            assert report.unreachable == USERS, f"round {number}"
        for user in users:
            assert stack.admin.bind_ok(user.name, user.password), user.name
        assert_no_secrets([stack.instance, lab.root], rounds.secrets)
