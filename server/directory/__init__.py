"""Directory adapters: one interface (base.py), an adapter per directory kind
(active_directory.py, openldap.py) on what they share (ldap_base.py, connection.py), and
`open_directory`, which picks the adapter for a configured domain."""

from pwreset.config.schema import Config
from pwreset.config.secrets import bind_password
from pwreset.server.directory.active_directory import ActiveDirectory
from pwreset.server.directory.base import Directory, DirectoryError
from pwreset.server.directory.connection import Connector
from pwreset.server.directory.openldap import OpenLdap

__all__ = ["Directory", "DirectoryError", "open_directory"]


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
