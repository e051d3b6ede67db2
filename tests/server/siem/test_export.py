"""The commands that write audit rows without the server (`pwreset notices`, `pwreset users
unlock` on PostgreSQL) open the store through `open_exporting_store`: their rows reach the
`[siem]` destinations too, and what was queued is sent before the command ends."""

from __future__ import annotations

import json

from pwreset.config import load_config
from pwreset.instance import create_instance
from pwreset.protocol.keys import read_secret_key
from pwreset.server.runner import open_exporting_store
from pwreset.server.storage import AuditEvent


def test_a_commands_audit_rows_are_exported_before_it_ends(tmp_path):
    json_file = tmp_path / "audit.jsonl"
    create_instance(tmp_path / "i", config_text=f'[siem]\njson_file = "{json_file}"\n')
    config = load_config(tmp_path / "i" / "pwreset.toml")
    key = read_secret_key(tmp_path / "i" / "keys" / "data.key")
    db = open_exporting_store(config, key)
    row = AuditEvent("success", "admin", "bob", "EXAMPLE",
                     "pwreset lockout lifted by the help desk (pwreset users unlock)",
                     web_user="console:admin")  # fmt: skip
    db.audit.append(row)
    db.close()
    [line] = [json.loads(text) for text in json_file.read_text().splitlines()]
    assert (line["event_id"], line["user"], line["web_user"]) == (5000, "bob", "console:admin")
    assert [r.event for r in db.audit.query()] == [row.event]  # and in the store, as before
