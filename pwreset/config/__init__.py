"""The instance configuration (`pwreset.toml`): a typed schema, its loader and its errors."""

from pwreset.config.errors import ConfigError, Problem
from pwreset.config.loader import load_config
from pwreset.config.schema import (
    FLOWS,
    BuildConfig,
    Config,
    DomainConfig,
    ServerConfig,
    SiteConfig,
    TlsConfig,
    WebConfig,
)

__all__ = [
    "FLOWS",
    "BuildConfig",
    "Config",
    "ConfigError",
    "DomainConfig",
    "Problem",
    "ServerConfig",
    "SiteConfig",
    "TlsConfig",
    "WebConfig",
    "load_config",
]
