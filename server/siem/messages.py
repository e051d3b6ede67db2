"""An exported audit row and its two forms: an RFC 5424 syslog message and a JSON line.

Both carry the same fields: the row's (never a secret: an audit row holds none), its event
id, and the request id it was written under. Nothing in a row can forge a second message:
structured-data values are escaped as RFC 5424 says, unsafe characters as everywhere in
pwreset (pwreset.protocol.printable), and a JSON line is one line of JSON.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime

from pwreset import __version__
from pwreset.config.siem_settings import FACILITIES, SyslogSettings
from pwreset.protocol.printable import escape
from pwreset.server.siem.events import EventKind
from pwreset.server.storage import AuditEvent

_BOM = "\ufeff".encode()


@dataclass(frozen=True)
class Exported:
    """An audit row on its way out."""

    row: AuditEvent
    kind: EventKind
    restored: bool  # written at start-up for an outcome an unclean stop left unaudited
    request_id: str  # "" when written outside of a request (the daily purge)

    def fields(self) -> dict[str, str]:
        """The structured data, by name (the JSON line's keys as well)."""
        row = self.row
        fields = {
            "event_id": str(self.kind.id),
            "outcome": row.type,
            "source": row.source,
            "user": row.user,
            "domain": row.domain,
            "ip": row.ip,
            "web_user": row.web_user,
            "event": row.event,
            "request_id": self.request_id,
        }
        if self.restored:
            fields["restored"] = "true"
        return {name: value for name, value in fields.items() if value}

    def summary(self) -> str:
        row = self.row
        return f"{row.source} {row.type}: {row.user}@{row.domain}: {row.event}"


def timestamp(moment: float) -> str:
    """RFC 5424's TIMESTAMP (RFC 3339 in UTC, microseconds)."""
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class SyslogFormat:
    """RFC 5424: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD] BOM MSG`."""

    def __init__(self, settings: SyslogSettings, hostname: str) -> None:
        self.facility = FACILITIES[settings.facility]
        self.hostname = hostname
        self.app_name = settings.app_name
        self.sd_id = settings.sd_id
        self.procid = str(os.getpid())

    def message(self, item: Exported) -> bytes:
        kind = item.kind
        params = " ".join(f'{name}="{_sd_value(value)}"' for name, value in item.fields().items())
        origin = f'[origin software="pwreset" swVersion="{_sd_value(__version__)}"]'
        header = (
            f"<{self.facility * 8 + kind.severity}>1 {timestamp(item.row.time)} {self.hostname} "
            f"{self.app_name} {self.procid} {kind.msgid} [{self.sd_id} {params}]{origin} "
        )
        return header.encode() + _BOM + escape(item.summary()).encode("utf-8", "replace")


def json_line(item: Exported, hostname: str) -> bytes:
    """One line of JSON: time, host, event id and name, severity, and the fields."""
    kind = item.kind
    line = {
        "time": datetime.fromtimestamp(item.row.time, UTC).isoformat(timespec="microseconds"),
        "host": hostname,
        "msgid": kind.msgid,
        "severity": kind.severity.name.lower(),
        **item.fields(),
        "event_id": kind.id,
    }
    return json.dumps(line, ensure_ascii=True).encode() + b"\n"


def _sd_value(value: str) -> str:
    # RFC 5424 6.3.3: '"', '\' and ']' are escaped with a backslash.
    text = escape(value)
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def local_hostname() -> str:
    """This host's name as RFC 5424 wants it: its FQDN, printable ASCII, or "-"."""
    name = socket.getfqdn() or socket.gethostname()
    return name[:255] if name.isascii() and name.isprintable() and " " not in name else "-"
