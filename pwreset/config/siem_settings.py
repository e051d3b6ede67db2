"""`[siem]`: where the server sends each audited outcome besides its own audit log, for a
SIEM: a syslog receiver (RFC 5424 over UDP, TCP or TLS) and/or a file of JSON lines."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# RFC 5424 section 6.2.1: the facility numbers, by the names syslog daemons use.
FACILITIES: dict[str, int] = {
    "kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6,
    "news": 7, "uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11, "ntp": 12, "audit": 13,
    "alert": 14, "clock": 15,
    **{f"local{n}": 16 + n for n in range(8)},
}  # fmt: skip
Facility = Literal[
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
    "authpriv", "ftp", "ntp", "audit", "alert", "clock",
    "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
]  # fmt: skip
# RFC 5424 SD-ID: a name@<private enterprise number>; no '=', ' ', ']' or '"'.
_SD_ID = re.compile(r"^[!#-<>-\\^-~]{1,32}$")


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SyslogSettings(_Table):
    """`[siem.syslog]`: one receiver."""

    # host:port of the receiver (IPv6 in brackets): 514 for udp, 601 tcp, 6514 tls.
    address: str
    # udp (RFC 5426), tcp (RFC 6587 octet counting) or tls (RFC 5425: TCP in TLS, the
    # receiver's certificate checked).
    transport: Literal["udp", "tcp", "tls"] = "tls"
    # tls: the CA that signed the receiver's certificate (default: the system's CAs).
    ca_file: Path | None = None
    # tls: the name in the receiver's certificate, when `address` uses an IP or another name.
    server_name: str | None = None
    # tls: a client certificate and its key, for a receiver that asks for one.
    cert_file: Path | None = None
    key_file: Path | None = None
    facility: Facility = "authpriv"
    app_name: str = Field(default="pwreset", pattern=r"^[!-~]{1,48}$")
    # The HOSTNAME field; "" = this host's fully qualified name.
    hostname: str = Field(default="", pattern=r"^[!-~]{0,255}$")
    # The structured data's SD-ID. 32473 is the example enterprise number (RFC 5612): a
    # SIEM that wants a registered one gets it here.
    sd_id: str = "pwreset@32473"
    # Seconds to connect and to send one message over TCP or TLS before trying again.
    timeout: float = Field(default=5.0, gt=0, le=60)

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        from pwreset.config.schema import parse_address  # schema imports this module

        parse_address(value)
        return value.strip()

    @field_validator("sd_id")
    @classmethod
    def _sd_id(cls, value: str) -> str:
        name, at, number = value.partition("@")
        if not _SD_ID.match(value) or not name or (at and not number.isdigit()):
            raise ValueError(
                f"{value!r} is not an RFC 5424 SD-ID: name@enterprise-number, at most 32 "
                "printable characters without '=', ' ', ']' or '\"'"
            )
        if not at:
            raise ValueError(f"{value!r}: an SD-ID of our own needs @enterprise-number")
        return value

    @model_validator(mode="after")
    def _tls_only(self) -> SyslogSettings:
        if self.transport != "tls":
            for key in ("ca_file", "server_name", "cert_file", "key_file"):
                if getattr(self, key) is not None:
                    raise ValueError(f'{key} applies only to transport = "tls"')
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("set both cert_file and key_file, or neither")
        return self


class SiemSettings(_Table):
    """`[siem]`: off unless `syslog` or `json_file` is set."""

    syslog: SyslogSettings | None = None
    # Each audited outcome as one JSON object per line, appended (reopened when rotated).
    json_file: Path | None = None
    # Events waiting per destination while it is slow or down; past it they are dropped
    # (counted and logged; the audit log keeps them all).
    queue_size: int = Field(default=10_000, ge=10, le=1_000_000)
