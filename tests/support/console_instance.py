"""An instance folder of the console tests (`pwreset init`), with its data key."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pwreset.cli import main
from pwreset.server.storage import Database


@dataclass
class Instance:
    root: Path
    config: Path
    data_dir: Path
    key: bytes

    def run(self, *argv: str) -> int:
        return main([*argv, "-c", str(self.config)])

    def open(self) -> Database:
        return Database.open(self.data_dir, data_key=self.key)


# One AD domain that is never reached: enough for the console's configuration and pages that
# do not bind (the sign-in page, the settings' checks).
UNREACHED_DOMAIN = """
[[domains]]
name = "LAB"
kind = "ad"
urls = ["ldaps://dc.lab.example:636"]
base_dn = "DC=lab,DC=example"
bind_dn = "svc@lab.example"
bind_password_env = "X"
"""
