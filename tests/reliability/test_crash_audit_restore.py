"""A done operation whose audit row the server had no time to write before it was killed
gets its row at the next start (found by bench/crash.py: an enroll saved, its row lost)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pwreset.config import load_config
from pwreset.instance import create_instance
from pwreset.protocol.keys import read_secret_key
from pwreset.server.flows.pending import RESTORED
from pwreset.server.runner import prepare
from pwreset.server.storage import Database

from support.backend import CONFIG

# Saves records as the flows do (the record, then its audit row), then dies between the
# two for the last user, by SIGKILL or by closing cleanly.
_SERVER_DYING = """
import os, signal, sys, time
from pathlib import Path
from pwreset.server.storage import AuditEvent, Database, UserRecord
data_dir, key, how = Path(sys.argv[1]), bytes.fromhex(sys.argv[2]), sys.argv[3]
db = Database.open(data_dir, data_key=key)
now = time.time()
db.users.save(UserRecord("EXAMPLE", "early", last_enroll=now - 5))
db.audit.append(AuditEvent("success", "enroll", "early", "EXAMPLE", "enrolled", time=now - 4))
db.users.save(UserRecord("EXAMPLE", "killed", last_enroll=now - 2, last_reset=now - 1))
db.audit.append(AuditEvent("success", "enroll", "killed", "EXAMPLE", "enrolled", time=now - 2))
# Imported long ago, never audited: not a flow cut short.
db.users.save(UserRecord("EXAMPLE", "imported", last_change=now - 86400))
if how == "kill":
    os.kill(os.getpid(), signal.SIGKILL)
db.close()
"""


def _instance(tmp_path: Path, how: str) -> Path:
    folder = tmp_path / how
    create_instance(
        folder,
        config_text=CONFIG.format(
            listen="127.0.0.1:5999", server_settings='relay_key_file = "keys/relay.key"'
        ),
    )
    key = read_secret_key(folder / "keys" / "data.key")
    subprocess.run(
        [sys.executable, "-c", _SERVER_DYING, str(folder / "data"), key.hex(), how], check=False
    )
    return folder


def _start_and_stop(folder: Path, monkeypatch) -> list[tuple[str, str, str]]:
    monkeypatch.setenv("PWRESET_UNUSED_PASSWORD", "unused-in-this-test")
    flows, _, _ = prepare(load_config(folder / "pwreset.toml"))
    flows.context.close()
    key = read_secret_key(folder / "keys" / "data.key")
    with Database.open(folder / "data", data_key=key) as db:
        return [(e.user, e.source, e.event) for e in db.audit.query()]


def test_start_after_kill_restores_the_row_of_a_reset_done_before_it(tmp_path, monkeypatch):
    folder = _instance(tmp_path, "kill")
    rows = _start_and_stop(folder, monkeypatch)
    assert ("killed", "reset", "password reset" + RESTORED) in rows
    # Rows written before the kill are not doubled; old records are left as they are.
    assert [r for r in rows if r[1] == "enroll"] == [
        ("early", "enroll", "enrolled"),
        ("killed", "enroll", "enrolled"),
    ]
    assert not [r for r in rows if r[0] == "imported"]
    # A second start, after a clean stop, writes nothing more.
    assert _start_and_stop(folder, monkeypatch) == rows


def test_start_after_clean_stop_restores_nothing(tmp_path, monkeypatch):
    rows = _start_and_stop(_instance(tmp_path, "close"), monkeypatch)
    assert rows == [("early", "enroll", "enrolled"), ("killed", "enroll", "enrolled")]
