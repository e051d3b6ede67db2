"""`[console]`: the web console stays on loopback unless it speaks TLS, and refuses to start
when nobody could sign in; each problem named by its key."""

from __future__ import annotations

from pathlib import Path

import pytest

import pwreset.cli  # noqa: F401  (first: the console's modules are loaded through the CLI)
from pwreset.config import ConfigError, load_config
from pwreset.console.command import ConsoleError
from pwreset.console.web.app import create_console_app

from support.console_instance import UNREACHED_DOMAIN


def _problems(text: str, tmp_path: Path) -> dict[str, str]:
    path = tmp_path / "pwreset.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return {p.key: p.reason for p in info.value.problems}


def test_a_network_address_needs_tls(tmp_path: Path) -> None:
    found = _problems('[console]\nlisten = "10.0.0.5:8444"\n', tmp_path)
    assert "not a loopback address: set tls_cert_file" in found["console"]
    found = _problems('[console]\nlisten = "0.0.0.0:8444"\ntls_cert_file = "c.pem"\n', tmp_path)
    assert "set both tls_cert_file and tls_key_file" in found["console"]
    found = _problems('[console]\nlisten = "nohost"\n', tmp_path)
    assert "host:port" in found["console.listen"]


def test_tls_on_a_network_address_and_plain_http_on_loopback_load(tmp_path: Path) -> None:
    path = tmp_path / "pwreset.toml"
    path.write_text(
        '[console]\nlisten = "10.0.0.5:8444"\ntls_cert_file = "c.pem"\ntls_key_file = "k.pem"\n'
    )
    assert load_config(path).console.tls
    path.write_text('[console]\nlisten = "[::1]:8444"\n')
    assert not load_config(path).console.tls


def test_the_console_refuses_to_start_when_nobody_could_sign_in(tmp_path: Path) -> None:
    path = tmp_path / "pwreset.toml"
    path.write_text(UNREACHED_DOMAIN)
    with pytest.raises(ConsoleError, match="both empty: nobody could sign in"):
        create_console_app(load_config(path))
    path.write_text(UNREACHED_DOMAIN + '[console]\nadmin_groups = ["a"]\ndomain = "OTHER"\n')
    with pytest.raises(ConsoleError, match=r"console\.domain 'OTHER' names no"):
        create_console_app(load_config(path))
    path.write_text('[console]\nadmin_groups = ["a"]\n')
    with pytest.raises(ConsoleError, match="no \\[\\[domains\\]\\]"):
        create_console_app(load_config(path))


def test_data_the_console_cannot_read_is_a_page_saying_so(tmp_path: Path) -> None:
    """The pages read the embedded store, as the command-line console does: on PostgreSQL a
    page says so (503) instead of failing with a server error."""
    from starlette.testclient import TestClient

    from pwreset.console.web import app as web

    path = tmp_path / "pwreset.toml"
    path.write_text(
        UNREACHED_DOMAIN + '[console]\nadmin_groups = ["a"]\n'
        '[storage]\nbackend = "postgresql"\ndsn = "host=db dbname=pwreset"\n'
    )
    application = create_console_app(load_config(path))
    console = application.state.console
    session = console.sessions.start("boss", "LAB", "boss", frozenset({web.ADMIN}))
    client = TestClient(application, base_url="https://console.test")
    client.cookies.set(web.COOKIE, session.id)
    reply = client.get("/users")
    assert reply.status_code == 503 and "cannot be read here" in reply.text
