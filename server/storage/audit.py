"""The audit log (the original's `aprlog.sdf`): append-only, one segment file per UTC day.

Segments keep memory bounded (nothing is held but the open file) and make retention a
matter of deleting whole old files. An event goes to the segment of its own date, so a
query for a date range opens only the days in it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pwreset.server.storage.append_file import AppendFile
from pwreset.server.storage.durable import fsync_dir, make_private_dir
from pwreset.server.storage.errors import StoreCorruptError, StoreReadOnlyError
from pwreset.server.storage.framing import RecordReader

log = logging.getLogger("pwreset.storage")

FORMAT = "pwreset-audit/1"
_SEGMENT = re.compile(r"^(\d{4}-\d{2}-\d{2})\.log$")
_OPEN_SEGMENTS = 2  # today and, around midnight, yesterday


@dataclass
class AuditEvent:
    type: str
    source: str
    user: str
    domain: str
    event: str
    ip: str = ""
    web_user: str = ""
    time: float = field(default_factory=time.time)


def _day(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d")


class AuditLog:
    """Thread-safe and append-only; `append` is durable when it returns."""

    def __init__(
        self,
        directory: Path,
        *,
        retention_days: int = 0,
        read_only: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.directory = directory
        self.retention_days = retention_days
        self.read_only = read_only
        self._clock = clock
        self._lock = threading.Lock()
        self._open: dict[str, AppendFile] = {}
        if not read_only:
            make_private_dir(directory)
            self.apply_retention()

    def append(self, event: AuditEvent) -> None:
        if self.read_only:
            raise StoreReadOnlyError(f"{self.directory}: opened read-only")
        payload = json.dumps(asdict(event), separators=(",", ":"), ensure_ascii=False).encode()
        with self._lock:
            segment = self._segment(_day(event.time))
            seq = segment.append(payload)
        segment.sync(seq)

    def append_many(self, events: list[AuditEvent]) -> None:
        """Append `events` with one sync per day file (a bulk load)."""
        if self.read_only:
            raise StoreReadOnlyError(f"{self.directory}: opened read-only")
        pending: tuple[AppendFile, int] | None = None
        with self._lock:
            for event in events:
                segment = self._segment(_day(event.time))
                if pending is not None and pending[0] is not segment:
                    pending[0].sync(pending[1])  # before the next day may close its file
                payload = json.dumps(asdict(event), separators=(",", ":"), ensure_ascii=False)
                pending = (segment, segment.append(payload.encode()))
            if pending is not None:
                pending[0].sync(pending[1])

    def clear(self) -> int:
        """Delete every day file (`pwreset db copy` into this store); how many."""
        if self.read_only:
            raise StoreReadOnlyError(f"{self.directory}: opened read-only")
        with self._lock:
            for segment in self._open.values():
                segment.close()
            self._open.clear()
            removed = 0
            for _, path in self.segments():
                path.unlink()
                removed += 1
        fsync_dir(self.directory)
        return removed

    def query(
        self, *, since: float | None = None, until: float | None = None
    ) -> Iterator[AuditEvent]:
        """Events with since <= time < until, segment by segment in date order."""
        first = _day(since) if since is not None else ""
        last = _day(until) if until is not None else "9999"
        for day, path in self.segments():
            if not first <= day <= last:
                continue
            try:
                for event in _read_segment(path):
                    if (since is None or event.time >= since) and (
                        until is None or event.time < until
                    ):
                        yield event
            except FileNotFoundError:
                continue  # removed by retention while we listed

    def days(self) -> list[str]:
        """The UTC days that hold events, oldest first."""
        return [day for day, _ in self.segments()]

    def segments(self) -> list[tuple[str, Path]]:
        if not self.directory.is_dir():
            return []
        found = [
            (m.group(1), entry)
            for entry in self.directory.iterdir()
            if (m := _SEGMENT.match(entry.name))
        ]
        return sorted(found)

    def apply_retention(self) -> int:
        """Delete the segments older than the retention period; returns how many."""
        if self.retention_days <= 0:
            return 0
        oldest = _day(self._clock() - self.retention_days * 86400)
        removed = 0
        for day, path in self.segments():
            if day < oldest and day not in self._open:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                removed += 1
        if removed:
            fsync_dir(self.directory)
            log.info("audit: removed %d segment(s) older than %s (retention)", removed, oldest)
        return removed

    def close(self) -> None:
        with self._lock:
            for segment in self._open.values():
                segment.close()
            self._open.clear()

    def _segment(self, day: str) -> AppendFile:
        segment = self._open.get(day)
        if segment is not None:
            return segment
        path = self.directory / f"{day}.log"
        if path.exists():
            reader = RecordReader(path, allow_torn_tail=True)
            for offset, payload in reader:
                if offset == 0:
                    _check_header(path, payload)
            if reader.torn:
                log.warning(
                    "%s: dropped an incomplete audit record (%d bytes at offset %d) left by "
                    "a crash; it was never acknowledged",
                    path,
                    reader.torn,
                    reader.end,
                )
            segment = AppendFile.open(path, reader.end)
        else:
            header = json.dumps({"format": FORMAT, "day": day}).encode()
            segment = AppendFile.create(path, header)
            self.apply_retention()
        self._open[day] = segment
        while len(self._open) > _OPEN_SEGMENTS:
            oldest = min(d for d in self._open if d != day)
            self._open.pop(oldest).close()
        return segment


def _check_header(path: Path, payload: bytes) -> None:
    try:
        header = json.loads(payload)
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise StoreCorruptError(path, 0, f"not a {FORMAT} segment")


def _read_segment(path: Path) -> Iterator[AuditEvent]:
    for offset, payload in RecordReader(path, allow_torn_tail=True):
        if offset == 0:
            _check_header(path, payload)
            continue
        try:
            yield AuditEvent(**json.loads(payload))
        except (ValueError, TypeError):
            raise StoreCorruptError(path, offset, "not an audit event") from None
