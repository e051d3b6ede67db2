"""No password sent through pwreset is written anywhere: logs, instance files, lab logs.

The test drives its own changes (success, wrong password, policy rejection) with passwords
nobody else uses, then reads every file the run produced, including the files of the
tests that ran before it.
"""

from __future__ import annotations

import secrets as random_secrets

import pytest
from starlette.testclient import TestClient

from pwreset.api import RelaySettings, create_app

from support.secrets_scan import assert_no_secrets, files_in, find_secrets
from support.stacks import USED_SECRETS, Stack, secret

pytestmark = [pytest.mark.slapd, pytest.mark.samba]


# Short values ("no", a one-letter wrong answer) turn up anywhere by chance.
_LONG = 8


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
    assert any(p.name == "server.log" for p in files_in([stack.instance]))
    assert_no_secrets([stack.instance], USED_SECRETS | {lab.service_password}, min_length=_LONG)
    # The directories' own logs and data folders of this run: no user password in clear.
    lab_logs = [p for p in files_in([lab.root]) if p.suffix in (".log", ".out")]
    assert find_secrets(lab_logs, USED_SECRETS, min_length=_LONG) == []
