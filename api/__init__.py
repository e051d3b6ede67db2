"""The relay: a stateless Starlette app in front of the reset backend.

It validates requests, seals them for the backend and turns replies into JSON. It holds no
directory credentials and no database, only the backend's public key; it never imports
ldap3, tinydb or pwreset.server (a test checks).
"""

from pwreset.api.app import create_app
from pwreset.api.settings import RelaySettings

__all__ = ["RelaySettings", "create_app"]
