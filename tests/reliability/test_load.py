"""Twenty users walk complete flows (enroll, reset, unlock, change) for ten seconds through
the real `pwreset web` and `pwreset server`, on OpenLDAP and on Samba AD: no error, every
acknowledged flow took effect in the directory, the database and the audit log, and no
secret was written anywhere (the bounded form of bench/load.py, issue 9)."""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from pathlib import Path

import pytest

from support.loadstack import load_stack, relay_budget
from support.secrets_scan import assert_no_secrets
from support.simusers import AUDIT_DONE, OPS, Simulation

pytestmark = [pytest.mark.slapd, pytest.mark.samba, pytest.mark.slow]

USERS = 20
SECONDS = 10.0


@pytest.mark.parametrize("lab_name", ["slapd_lab", "samba_lab"])
def test_concurrent_users_complete_every_flow_without_error(
    lab_name: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    lab = request.getfixturevalue(lab_name)
    tag = secrets.token_hex(3)
    with load_stack(tmp_path, lab) as stack:
        users = stack.create_users(f"ld{tag}", USERS, f"First!{tag}-Pw1")
        simulation = Simulation(
            stack.base_url, stack.domain, stack.lock, timeout=relay_budget(5.0, 3) + 10
        )
        results = asyncio.run(simulation.run(users, duration=SECONDS, whole_cycles=True))
        records, audit = stack.stored()

    assert [f"{e.user}: {e.detail}" for e in results.errors] == []
    done = Counter(a.op for a in results.attempts if a.outcome == "done")
    assert all(done[op] >= USERS for op in OPS), done
    # Every acknowledged operation is in the audit log once, and nothing else succeeded.
    audited = Counter(
        e.source for e in audit if e.type == "success" and e.event == AUDIT_DONE.get(e.source)
    )
    assert audited == done
    for user in users:
        record = records[user.name]
        assert record.enrollment is not None and record.last_enroll is not None
        # The directory has the last password acknowledged, and the account is unlocked.
        assert stack.admin.bind_ok(user.name, user.password), user.name
        assert not stack.admin.is_locked(user.name)
    assert_no_secrets([stack.instance, lab.root], simulation.secrets)
