"""`[console]`: the admin console in the browser (`pwreset console`), on the internal side.

It is never reached through the DMZ relay: it listens on an internal address of the server
host (loopback by default) and speaks TLS when given a certificate. Plain HTTP is accepted
only on a loopback address, where nothing crosses a network.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ConsoleSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    listen: str = "127.0.0.1:8444"
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    # Directory groups (names or DNs, nested membership counts) whose members may sign in:
    # admins see everything; the help desk only looks up and helps callers.
    admin_groups: list[str] = []
    helpdesk_groups: list[str] = []
    # The domain a name typed without DOMAIN\ signs in to (default: the first configured).
    domain: str = ""
    idle_minutes: int = Field(default=15, ge=1, le=480)
    session_hours: float = Field(default=8, gt=0, le=24)
    # Failed sign-ins allowed per account and per address within `signin_window_minutes`;
    # past them the console refuses before it binds (a guessing admin cannot lock the
    # directory account out either).
    signin_failures_per_account: int = Field(default=5, ge=1, le=1000)
    signin_failures_per_address: int = Field(default=20, ge=1, le=10000)
    signin_window_minutes: int = Field(default=15, ge=1, le=1440)
    # The help desk: right answers to the caller's enrolled questions that verify them
    # without a code (at most as many as they enrolled), and how long after an agent opens
    # a case they may verify the caller and act for them.
    helpdesk_answers: int = Field(default=2, ge=1, le=10)
    helpdesk_case_minutes: int = Field(default=15, ge=1, le=120)

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        from pwreset.config.schema import parse_address

        parse_address(value)
        return value

    @model_validator(mode="after")
    def _tls(self) -> ConsoleSettings:
        from pwreset.config.schema import parse_address

        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("set both tls_cert_file and tls_key_file, or neither")
        host, _ = parse_address(self.listen)
        if self.tls_cert_file is None and not _is_loopback(host):
            raise ValueError(
                f"listen {self.listen!r} is not a loopback address: set tls_cert_file and "
                "tls_key_file (admins' passwords must not cross a network in clear)"
            )
        return self

    @property
    def tls(self) -> bool:
        return self.tls_cert_file is not None
