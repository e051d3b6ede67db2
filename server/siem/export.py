"""The audit export: a store whose audit trail, once a row is stored, offers it to every
configured destination's sender. The store comes first, so an unreachable SIEM never loses
a row there; the offer never blocks or raises, so it never holds up or breaks a flow."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pwreset.config.siem_settings import SiemSettings
from pwreset.protocol.trace import current_trace
from pwreset.server.siem.destinations import (
    Destination,
    DestinationError,
    JsonLinesFile,
    SyslogConnection,
)
from pwreset.server.siem.events import classify
from pwreset.server.siem.messages import Exported, local_hostname
from pwreset.server.siem.sender import Sender
from pwreset.server.storage import AuditEvent, AuditTrail, Store

log = logging.getLogger("pwreset.siem")


class AuditExport:
    """The senders of the configured destinations."""

    def __init__(self, destinations: list[Destination], queue_size: int) -> None:
        self.senders = [Sender(d, queue_size) for d in destinations]

    @classmethod
    def configured(
        cls, settings: SiemSettings, resolve: Callable[[Path], Path]
    ) -> AuditExport | None:
        """The export `[siem]` asks for, or None. Raises DestinationError for a destination
        that cannot be set up."""
        syslog, json_file = settings.syslog, settings.json_file
        hostname = (syslog.hostname if syslog else "") or local_hostname()
        makers: list[Callable[[], Destination]] = []
        if syslog is not None:
            makers.append(lambda: SyslogConnection(syslog, resolve, hostname))
        if json_file is not None:
            makers.append(lambda: JsonLinesFile(resolve(json_file), hostname))
        destinations: list[Destination] = []
        failed: DestinationError | None = None
        for make in makers:
            try:
                destinations.append(make())
            except DestinationError as exc:  # every problem at once
                if failed is not None:
                    exc.problems[:0] = failed.problems
                failed = exc
        if failed is not None:
            raise failed
        return cls(destinations, settings.queue_size) if destinations else None

    def offer(self, row: AuditEvent) -> None:
        try:
            kind, restored = classify(row)
            item = Exported(row, kind, restored, current_trace.get())
            for sender in self.senders:
                sender.offer(item)
        except Exception:  # a bug here must not fail the flow that wrote the row
            log.exception("an audit event could not be exported")

    def close(self) -> None:
        for sender in self.senders:
            sender.close()


class _ExportingAuditTrail:
    def __init__(self, inner: AuditTrail, export: AuditExport) -> None:
        self._inner = inner
        self._export = export

    def append(self, event: AuditEvent) -> None:
        self._inner.append(event)  # raises when the row could not be stored: nothing sent
        self._export.offer(event)

    def query(
        self, *, since: float | None = None, until: float | None = None
    ) -> Iterator[AuditEvent]:
        return self._inner.query(since=since, until=until)

    def days(self) -> list[str]:
        return self._inner.days()


class ExportingStore:
    """`store`, with each audit row also offered to `export`; closing it closes both.
    Everything else is the store's own (so what the store interface gains, this has)."""

    def __init__(self, store: Store, export: AuditExport) -> None:
        self.stored = store  # for what only its own kind offers (the replay journal)
        self._export = export
        self._audit = _ExportingAuditTrail(store.audit, export)

    @property
    def audit(self) -> AuditTrail:
        return self._audit

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stored, name)

    def close(self) -> None:
        try:
            self.stored.close()
        finally:
            self._export.close()
