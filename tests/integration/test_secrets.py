"""No password sent through pwreset is written anywhere: logs, instance files, lab logs.

The test drives its own changes (success, wrong password, policy rejection) with passwords
nobody else uses, then reads every file the run produced, including the files of the
tests that ran before it.
"""

from __future__ import annotations

import secrets as random_secrets
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from pwreset.api import RelaySettings, create_app

from support.stacks import USED_SECRETS, Stack, secret

pytestmark = [pytest.mark.slapd, pytest.mark.samba]


def _files(*roots: Path) -> list[Path]:
    return [p for root in roots for p in root.rglob("*") if p.is_file() and not p.is_symlink()]


def _leaks(files: list[Path], needles: set[str]) -> list[str]:
    # Short values ("no", a one-letter wrong answer) turn up anywhere by chance.
    needles = {n for n in needles if len(n) >= 8}
    found = []
    encoded = {n: (n.encode(), n.encode("utf-16-le")) for n in needles}
    for path in files:
        data = path.read_bytes()
        for needle, forms in encoded.items():
            if any(form in data for form in forms):
                found.append(f"{path} holds {needle[:3]}…")
    return found


def test_no_password_reaches_a_log_or_file(directory, fresh_user_name, request):
    stack: Stack = directory[0]
    admin = directory[1]
    lab = request.getfixturevalue("samba_lab" if stack.kind == "ad" else "slapd_lab")
    token = random_secrets.token_hex(6)
    old = secret(f"Old!{token}-1a")
    new = secret(f"New!{token}-2b")
    admin.create_user(fresh_user_name, old)
    with TestClient(create_app(RelaySettings.from_config(stack.config))) as relay:

        def change(current: str, wanted: str) -> int:
            body = {
                "domain": stack.domain,
                "username": fresh_user_name,
                "old_password": secret(current),
                "new_password": secret(wanted),
            }
            return relay.post("/pwreset/api/v1/change", json=body).status_code

        assert change(f"Wrong!{token}-3c", new) == 401
        assert change(old, f"x{token[:2]}") == 422
        assert change(old, new) == 200
    assert admin.bind_ok(fresh_user_name, new)

    # pwreset's own files: nothing, not even the service account's password.
    own = _files(stack.instance)
    assert any(p.name == "server.log" for p in own)
    assert _leaks(own, USED_SECRETS | {lab.service_password}) == []
    # The directories' own logs and data folders of this run: no user password in clear.
    lab_logs = [p for p in _files(lab.root) if p.suffix in (".log", ".out")]
    assert _leaks(lab_logs, USED_SECRETS) == []
