"""The SMS program's environment, through the real stack on both directories: the backend
holds the directory's bind password in its environment, the program never sees it."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

DUMPER = """
import json, os, sys
open(sys.argv[1], "w").write(json.dumps(dict(os.environ)))
"""


def test_the_sms_program_never_sees_the_bind_password(flows, user, tmp_path: Path) -> None:
    """security review, low: the SMS program inherited every environment variable but the
    SMTP password, the directory bind password included; it now starts from an allowlist."""
    dumper = tmp_path / "dump_env.py"
    dumper.write_text(DUMPER)
    out = tmp_path / "sms-env.json"
    command = [sys.executable, str(dumper), str(out)]
    stack = flows(verification={"enabled": True, "email": False, "sms": True,
                                "sms_command": command})  # fmt: skip
    assert stack.enroll(user).status_code == 200

    reply = stack.answer_all("reset", user)

    assert reply.json()["step"]["kind"] == "code", reply.text
    seen = json.loads(out.read_text())
    name = stack.config.domains[0].bind_password_env
    assert name and os.environ.get(name)  # the backend's process holds it
    assert name not in seen
    assert os.environ[name] not in json.dumps(seen)
    assert set(seen) <= {"PATH", "HOME", "LANG", "LANGUAGE", "TZ", "TMPDIR"} | {
        key for key in seen if key.startswith("LC_")
    }
