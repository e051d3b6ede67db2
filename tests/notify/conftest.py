"""Fixtures for the notification tests: real aiosmtpd servers (plain, STARTTLS, implicit
TLS) with certificates from a throwaway CA, and the settings that point pwreset at them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pwreset.config.notify_settings import EmailSettings
from pwreset.server.notify import Recipient

from support.smtp import Mode, ServerFactory, SmtpServer, TlsFiles, make_test_tls

SettingsFactory = Callable[..., EmailSettings]


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_test_tls(tmp_path_factory.mktemp("smtp-tls"))


@pytest.fixture
def smtp_server(tls_files: TlsFiles) -> Iterator[ServerFactory]:
    """Start servers on demand: smtp_server("starttls", users={"relay": "pw"}); the
    test CA's certificate unless `tls` is given."""
    started: list[SmtpServer] = []

    def start(
        mode: Mode = "plain",
        *,
        users: dict[str, str] | None = None,
        tls: TlsFiles | None = None,
    ) -> SmtpServer:
        if mode != "plain":
            tls = tls or tls_files
        server = SmtpServer(mode, tls=tls, users=users)
        started.append(server.start())
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def smtp_plain(smtp_server: ServerFactory) -> SmtpServer:
    return smtp_server("plain")


@pytest.fixture
def smtp_starttls(smtp_server: ServerFactory) -> SmtpServer:
    return smtp_server("starttls")


@pytest.fixture
def smtp_tls(smtp_server: ServerFactory) -> SmtpServer:
    return smtp_server("tls")


@pytest.fixture
def email_for(tls_files: TlsFiles) -> SettingsFactory:
    """EmailSettings delivering to `server` in its own mode, trusting the test CA."""

    def settings(server: SmtpServer, **overrides: Any) -> EmailSettings:
        values: dict[str, Any] = {
            "delivery": "smtp",
            "from_address": '"Password self-service" <pwreset@example.org>',
            "smtp_host": server.host,
            "smtp_port": server.port,
            "security": {"plain": "none"}.get(server.mode, server.mode),
            "ca_file": tls_files.ca_file if server.mode != "plain" else None,
            "timeout": 5.0,
        }
        values.update(overrides)
        return EmailSettings(**values)

    return settings


@pytest.fixture
def jane() -> Recipient:
    return Recipient(
        username="jdoe",
        domain="EXAMPLE",
        directory_email="jane.doe@example.org",
        enrolled_email="jane@home.example.net",
        phone="+15550199",
        language="en",
    )


@pytest.fixture
def pickup_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "pickup"
    folder.mkdir()
    return folder
