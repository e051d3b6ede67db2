"""Secrets named by the configuration: read from the environment or a file, never printed."""

from __future__ import annotations

import os
from pathlib import Path

from pwreset.config.errors import ConfigError, Problem
from pwreset.config.schema import Config


def bind_password(config: Config, index: int) -> str:
    """The service-account password of `config.domains[index]`."""
    domain = config.domains[index]
    key = f"domains[{index}]"
    value = _named_secret(
        config, f"{key}.bind_password", domain.bind_password_env, domain.bind_password_file
    )
    if value is None:
        raise ConfigError(
            [
                Problem(
                    _file(config),
                    key,
                    "set bind_password_env or bind_password_file for the service account",
                )
            ]
        )
    return value


def database_password(config: Config) -> str | None:
    """The PostgreSQL password (`storage.password_env` or `storage.password_file`), or None
    when neither is set (a certificate, peer or .pgpass login)."""
    storage = config.storage
    return _named_secret(config, "storage.password", storage.password_env, storage.password_file)


def _named_secret(config: Config, key: str, env: str | None, file: Path | None) -> str | None:
    """The value of environment variable `env` or the contents of `file` (`key`_env and
    `key`_file in the configuration); None if neither is set."""
    if env:
        value = os.environ.get(env)
        if not value:
            raise ConfigError(
                [Problem(_file(config), f"{key}_env", f"environment variable {env} is not set")]
            )
        return value
    if file:
        path = config.path(file)
        try:
            value = path.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise ConfigError(
                [Problem(_file(config), f"{key}_file", f"cannot read {path}: {exc.strerror}")]
            ) from None
        if not value:
            raise ConfigError([Problem(_file(config), f"{key}_file", f"{path} is empty")])
        return value
    return None


def _file(config: Config) -> Path:
    return config.source or config.base_dir / "pwreset.toml"
