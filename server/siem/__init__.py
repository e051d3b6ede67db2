"""The audit export for SIEMs: every audited outcome, with its fixed event id (`events`), sent
as RFC 5424 syslog (UDP, TCP, TLS) and/or JSON lines (`messages`, `destinations`) by a
background sender per destination that never holds up a flow (`sender`), from a store whose
audit trail offers each row once it is stored (`export`)."""

from pwreset.server.siem.events import EVENTS, EventKind, classify
from pwreset.server.siem.export import AuditExport, ExportingStore

__all__ = ["EVENTS", "AuditExport", "EventKind", "ExportingStore", "classify"]
