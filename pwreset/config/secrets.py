"""Secrets named by the configuration: read from the environment or a file, never printed."""

from __future__ import annotations

import os

from pwreset.config.errors import ConfigError, Problem
from pwreset.config.schema import Config


def bind_password(config: Config, index: int) -> str:
    """The service-account password of `config.domains[index]`."""
    domain = config.domains[index]
    file = config.source or config.base_dir / "pwreset.toml"
    key = f"domains[{index}]"
    if domain.bind_password_env:
        value = os.environ.get(domain.bind_password_env)
        if not value:
            raise ConfigError(
                [
                    Problem(
                        file,
                        f"{key}.bind_password_env",
                        f"environment variable {domain.bind_password_env} is not set",
                    )
                ]
            )
        return value
    if domain.bind_password_file:
        path = config.path(domain.bind_password_file)
        try:
            value = path.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise ConfigError(
                [Problem(file, f"{key}.bind_password_file", f"cannot read {path}: {exc.strerror}")]
            ) from None
        if not value:
            raise ConfigError([Problem(file, f"{key}.bind_password_file", f"{path} is empty")])
        return value
    raise ConfigError(
        [Problem(file, key, "set bind_password_env or bind_password_file for the service account")]
    )


def database_password(config: Config) -> str | None:
    """The PostgreSQL password (`storage.password_env` or `storage.password_file`), or None
    when neither is set (a peer, certificate or .pgpass login)."""
    storage = config.storage
    file = config.source or config.base_dir / "pwreset.toml"
    if storage.password_env:
        value = os.environ.get(storage.password_env)
        if not value:
            raise ConfigError(
                [
                    Problem(
                        file,
                        "storage.password_env",
                        f"environment variable {storage.password_env} is not set",
                    )
                ]
            )
        return value
    if storage.password_file:
        path = config.path(storage.password_file)
        try:
            value = path.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise ConfigError(
                [Problem(file, "storage.password_file", f"cannot read {path}: {exc.strerror}")]
            ) from None
        if not value:
            raise ConfigError([Problem(file, "storage.password_file", f"{path} is empty")])
        return value
    return None
