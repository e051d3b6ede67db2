"""What `init` writes and what `pwreset server` refuses: relays authenticate by default,
the backend listens on loopback, keys and data are for the server's account alone."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

from pwreset.config import load_config
from pwreset.config.schema import ServerConfig
from pwreset.instance import RELAY_KEY, create_instance
from pwreset.protocol.keys import read_secret_key
from pwreset.protocol.sealing import open_reply

from support.backend import start_backend

DOMAIN = """
[[domains]]
name = "A"
kind = "openldap"
urls = ["ldaps://127.0.0.1:9"]
base_dn = "dc=a"
bind_dn = "cn=svc,dc=a"
bind_password_env = "PWRESET_UNUSED_PASSWORD"
"""


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _server(folder: Path) -> subprocess.CompletedProcess[str]:
    """`pwreset server` on `folder`, expected to refuse at once."""
    return subprocess.run(
        [sys.executable, "-m", "pwreset", "server", "-c", str(folder / "pwreset.toml")],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PWRESET_UNUSED_PASSWORD": "unused", "PATH": "/usr/bin:/bin"},
    )


def test_init_writes_a_relay_key_both_sides_use(tmp_path):
    """security review 2: relays authenticate by default, on a loopback listener."""
    folder = tmp_path / "inst"
    out = subprocess.run(
        [sys.executable, "-m", "pwreset", "init", str(folder)], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert _mode(folder / RELAY_KEY) == 0o600
    assert len(read_secret_key(folder / RELAY_KEY)) == 32
    config = load_config(folder / "pwreset.toml")
    assert config.server.relay_key_file == config.web.relay_key_file == RELAY_KEY
    assert config.server.allow_unauthenticated_relays is False
    assert config.server.listen == "127.0.0.1:5100"
    assert ServerConfig().listen == "127.0.0.1:5100"  # also without the sample


def test_init_makes_keys_and_data_private(tmp_path):
    """security review, low: data/ and keys/ are 0700 whatever the umask."""
    folder = tmp_path / "inst"
    out = subprocess.run(
        ["sh", "-c", f'umask 002 && "{sys.executable}" -m pwreset init "{folder}"'],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert _mode(folder / "data") == 0o700
    assert _mode(folder / "keys") == 0o700
    for name in ("server.key", "data.key", "relay.key"):
        assert _mode(folder / "keys" / name) == 0o600
    assert _mode(folder / "keys" / "server.pub") == 0o644


def test_server_without_a_relay_key_refuses_to_start(tmp_path):
    """security review 2: no relay key and no explicit opt-out: a clear error, no server."""
    (tmp_path / "pwreset.toml").write_text(DOMAIN)
    create_instance(tmp_path)
    out = _server(tmp_path)
    assert out.returncode == 2, out.stderr
    line = next(x for x in out.stderr.splitlines() if "relay_key_file" in x)
    assert line.strip().startswith(f"{tmp_path / 'pwreset.toml'}: server.relay_key_file: ")
    assert 'relay_key_file = "keys/relay.key"' in line
    assert "allow_unauthenticated_relays = true" in line


def test_opting_out_of_relay_keys_is_said_in_the_log(tmp_path):
    """security review 2: an admin may allow unauthenticated relays, and the log says so."""
    backend = start_backend(
        tmp_path / "inst", server_settings="allow_unauthenticated_relays = true"
    )
    try:
        request, datagram, reply_key = backend.ping(authenticated=False)
        reply = open_reply(backend.send(datagram), reply_key)
        assert reply.request_id == request.request_id
        warnings = [x for x in backend.log().splitlines() if " WARNING " in x]
        assert any("relays are not authenticated" in x for x in warnings), backend.log()
    finally:
        backend.stop()


def test_server_refuses_key_files_others_can_read(tmp_path):
    """security review, low: a 0644 server.key (or data or relay key) stops the server with
    the file, the key and the chmod to run."""
    (tmp_path / "pwreset.toml").write_text('[server]\nrelay_key_file = "keys/relay.key"\n' + DOMAIN)
    create_instance(tmp_path)
    for name in ("server.key", "data.key", "relay.key"):
        (tmp_path / "keys" / name).chmod(0o644)
    out = _server(tmp_path)
    assert out.returncode == 2, out.stderr
    file = tmp_path / "pwreset.toml"
    for key, name in (
        ("server.private_keys[0]", "server.key"),
        ("server.data_key_file", "data.key"),
        ("server.relay_key_file", "relay.key"),
    ):
        path = tmp_path / "keys" / name
        assert (
            f"{file}: {key}: {path}: the key file is readable or writable by group or others "
            f"(mode 0644); run: chmod 600 {path}"
        ) in out.stderr


def test_init_adds_a_relay_key_to_an_older_instance(tmp_path):
    create_instance(tmp_path)
    (tmp_path / RELAY_KEY).unlink()
    command = [sys.executable, "-m", "pwreset", "init", "--relay-key", str(tmp_path)]
    out = subprocess.run(command, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert _mode(tmp_path / RELAY_KEY) == 0o600
    before = (tmp_path / RELAY_KEY).read_bytes()
    again = subprocess.run(command, capture_output=True, text=True)
    assert again.returncode == 1
    assert "refusing to overwrite" in again.stderr
    assert (tmp_path / RELAY_KEY).read_bytes() == before


def test_a_data_folder_open_to_others_is_warned_about(tmp_path, caplog, monkeypatch):
    """security review, low: an instance made by an older init keeps a 0755 data/; the
    server says how to close it."""
    from pwreset.server.runner import prepare

    (tmp_path / "pwreset.toml").write_text('[server]\nrelay_key_file = "keys/relay.key"\n' + DOMAIN)
    create_instance(tmp_path)
    (tmp_path / "data").chmod(0o755)
    monkeypatch.setenv("PWRESET_UNUSED_PASSWORD", "unused")
    flows, _, _ = prepare(load_config(tmp_path / "pwreset.toml"))
    flows.context.close()
    assert f"(mode 0755); run: chmod 700 {tmp_path / 'data'}" in caplog.text
