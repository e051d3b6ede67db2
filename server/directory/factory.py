"""Choosing the adapter for a configured domain."""

from __future__ import annotations

from pwreset.server.directory.active_directory import ActiveDirectory
from pwreset.server.directory.base import Directory
from pwreset.server.directory.connection import Connector
from pwreset.server.directory.openldap import OpenLdap

from pwreset.config.schema import Config
from pwreset.config.secrets import bind_password


def open_directory(config: Config, index: int) -> Directory:
    """The adapter of `config.domains[index]` (reads its service-account secret)."""
    domain = config.domains[index]
    connector = Connector(config, domain, bind_password(config, index))
    if domain.kind == "ad":
        return ActiveDirectory(domain, connector)
    return OpenLdap(domain, connector)
