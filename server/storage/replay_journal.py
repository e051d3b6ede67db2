"""The request ids the server accepted, on disk, so a datagram replayed after a restart is
still refused (the replay guard itself lives in memory).

Each accepted (request id, timestamp) is appended and made durable before the request's
effect runs; concurrent requests share one fdatasync (group commit), so the cost is well
under a millisecond per request beside the flows' directory and Argon2 work. The files are
segments by arrival time, one per window: a segment goes once every timestamp in it has
left the window, so the folder holds a few small files whatever the traffic.
"""

from __future__ import annotations

import contextlib
import logging
import struct
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

from pwreset.server.storage.append_file import AppendFile
from pwreset.server.storage.database import REPLAY_DIR
from pwreset.server.storage.durable import make_private_dir
from pwreset.server.storage.errors import StorageFullError, StoreCorruptError
from pwreset.server.storage.framing import RecordReader

log = logging.getLogger("pwreset.server")

__all__ = ["REPLAY_DIR", "ReplayJournal"]

_HEADER = b"pwreset replay journal 1"
_RECORD = struct.Struct(">16sd")  # request id, the request's timestamp
_SUFFIX = ".log"


class ReplayJournal:
    """Append-only record of accepted requests in `directory`; `restored` holds those of
    earlier runs still inside the window, for `ReplayGuard.restore`."""

    def __init__(
        self, directory: Path, window: float, clock: Callable[[], float] = time.time
    ) -> None:
        self._directory = directory
        self._window = window
        self._clock = clock
        self._lock = threading.Lock()
        # The newest timestamp in each segment: a segment is deleted once it is stale.
        self._segments: dict[Path, float] = {}
        make_private_dir(directory)
        self.restored: list[tuple[bytes, float]] = self._load(clock())
        self._file: AppendFile | None = None
        self._path = directory
        self._start = clock()
        try:
            self._rotate(self._start)
        except StorageFullError as exc:
            # Start anyway: requests that write nothing are served; the others are refused
            # until there is room for their record (the segment is made then).
            log.warning("%s; the replay journal starts once there is room", exc)

    def unit(self) -> AbstractContextManager[None]:
        """One server's store: each write is durable on its own (see `pending` for kills)."""
        return contextlib.nullcontext()

    def record(
        self, request_id: bytes, timestamp: float, digest: bytes = b"", origin: str = ""
    ) -> None:
        """Return once the request is on disk. Raises StorageFullError when there is no
        room (nothing is changed then: the next call tries again), OSError on other
        failures. No other server reads it: `digest` and `origin` are not kept."""
        with self._lock:
            now = self._clock()
            file = self._file
            if file is None or now >= self._start + self._window:
                file = self._rotate(now)
            seq = file.append(_RECORD.pack(request_id, timestamp))
            self._segments[self._path] = max(self._segments[self._path], timestamp)
        file.sync(seq)

    def answered(self, request_id: bytes, sealed_reply: bytes) -> None:
        """Retries reach this server only; its reply cache answers them."""

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()

    def _rotate(self, now: float) -> AppendFile:
        # The new segment first: if it cannot be made, the journal is as it was.
        path = self._new_segment_path(now)
        new = AppendFile.create(path, _HEADER)
        old, self._file, self._path, self._start = self._file, new, path, now
        self._segments[path] = float("-inf")
        if old is not None:
            old.close()  # syncs what other threads appended and still wait for
        for stale, newest in list(self._segments.items()):
            if stale != path and newest + self._window < now:
                stale.unlink(missing_ok=True)
                del self._segments[stale]
        return new

    def _new_segment_path(self, now: float) -> Path:
        stamp = int(now * 1000)
        while (path := self._directory / f"{stamp}{_SUFFIX}").exists():
            stamp += 1
        return path

    def _load(self, now: float) -> list[tuple[bytes, float]]:
        live: list[tuple[bytes, float]] = []
        for path in sorted(self._directory.glob(f"*{_SUFFIX}")):
            newest = float("-inf")
            # A torn tail is a request whose append never became durable, so its effect
            # never ran: dropping it is right.
            reader = RecordReader(path, allow_torn_tail=True)
            for index, (offset, payload) in enumerate(reader):
                if index == 0:
                    if payload != _HEADER:
                        raise StoreCorruptError(path, offset, "not a pwreset replay journal")
                    continue
                if len(payload) != _RECORD.size:
                    raise StoreCorruptError(path, offset, "not a replay journal record")
                request_id, timestamp = _RECORD.unpack(payload)
                newest = max(newest, timestamp)
                if timestamp + self._window >= now:
                    live.append((request_id, timestamp))
            if newest + self._window < now:
                path.unlink()
            else:
                self._segments[path] = newest
        if live:
            log.info("replay guard: %d request id(s) from before the restart", len(live))
        return live
