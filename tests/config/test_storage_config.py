"""`[storage]`: the backend and the PostgreSQL connection; each bad value named by key, and
the database password never in an error, and never in the DSN."""

from __future__ import annotations

from pathlib import Path

import pytest

from pwreset.config import ConfigError, load_config
from pwreset.config.secrets import database_password
from pwreset.server.runner import open_store
from pwreset.server.storage import StorageError


def _problems(text: str, tmp_path: Path) -> dict[str, str]:
    path = tmp_path / "pwreset.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return {p.key: p.reason for p in info.value.problems}


def test_an_unknown_backend_names_the_two(tmp_path: Path) -> None:
    found = _problems('[storage]\nbackend = "mysql"\n', tmp_path)
    assert "'embedded' or 'postgresql'" in found["storage.backend"]


def test_postgresql_needs_a_dsn(tmp_path: Path) -> None:
    found = _problems('[storage]\nbackend = "postgresql"\n', tmp_path)
    assert "needs storage.dsn" in found["storage"]


def test_a_dsn_with_a_password_is_refused_without_showing_it(tmp_path: Path) -> None:
    for dsn in (
        "postgresql://pw:Hunter2-secret@db/pwreset",
        "host=db dbname=x password=Hunter2-secret",
    ):
        found = _problems(f'[storage]\nbackend = "postgresql"\ndsn = "{dsn}"\n', tmp_path)
        assert "holds a password" in found["storage.dsn"]
        assert "Hunter2" not in str(found)


def test_a_dsn_libpq_cannot_read_is_refused_without_repeating_it(tmp_path: Path) -> None:
    found = _problems('[storage]\ndsn = "host=db password Hunter2-secret"\n', tmp_path)
    assert "not a PostgreSQL connection string" in found["storage.dsn"]
    assert "Hunter2" not in str(found)


def test_the_password_comes_from_its_variable_or_file(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "pwreset.toml"
    path.write_text('[storage]\ndsn = "postgresql://pw@db/x"\npassword_env = "PWRESET_T_DB"\n')
    config = load_config(path)
    with pytest.raises(ConfigError, match=r"storage\.password_env: environment variable"):
        database_password(config)
    monkeypatch.setenv("PWRESET_T_DB", "from-the-env")
    assert database_password(config) == "from-the-env"
    (tmp_path / "db.password").write_text("from-a-file\n")
    path.write_text('[storage]\ndsn = "postgresql://pw@db/x"\npassword_file = "db.password"\n')
    assert database_password(load_config(path)) == "from-a-file"


def test_an_unreachable_database_is_named_without_its_password(tmp_path: Path, monkeypatch):
    """The server does not start, and says where it could not connect (port 9 on loopback:
    nothing listens there)."""
    monkeypatch.setenv("PWRESET_T_DB", "Hunter2-secret")
    path = tmp_path / "pwreset.toml"
    path.write_text(
        '[storage]\nbackend = "postgresql"\ndsn = "postgresql://pw@127.0.0.1:9/x"\n'
        'password_env = "PWRESET_T_DB"\n'
    )
    with pytest.raises(StorageError, match=r"pw@127\.0\.0\.1:9/x") as caught:
        open_store(load_config(path), b"k" * 32)
    assert "Hunter2" not in str(caught.value)
