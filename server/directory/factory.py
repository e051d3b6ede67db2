"""Choosing the adapter for a configured domain."""

from __future__ import annotations

from pwreset.config.schema import Config
from pwreset.config.secrets import bind_password
from pwreset.server.directory.active_directory import ActiveDirectory
from pwreset.server.directory.base import Directory
from pwreset.server.directory.connection import Connector
from pwreset.server.directory.openldap import OpenLdap


def open_directory(config: Config, index: int) -> Directory:
    """The adapter of `config.domains[index]` (reads its service-account secret)."""
    domain = config.domains[index]
    connector = Connector(config, domain, bind_password(config, index))
    attrs = {
        "email_attr": config.verification.email_attribute,
        "phone_attr": config.verification.phone_attribute,
    }
    if domain.kind == "ad":
        return ActiveDirectory(domain, connector, **attrs)
    return OpenLdap(domain, connector, **attrs)
