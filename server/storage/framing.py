"""The record framing every storage file uses, and the reader that recovers torn tails.

A record is `marker | length | crc32 | payload`. The marker's bytes are never valid UTF-8,
so they never occur inside a payload's text, which lets the reader tell a torn tail (nothing
valid after the damage: the last append was cut short, so drop it) from damage in the middle
(valid records follow: refuse, naming the file and offset, so nothing is dropped silently).
"""

from __future__ import annotations

import logging
import os
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

from pwreset.server.storage.errors import StoreCorruptError

log = logging.getLogger("pwreset.storage")

MARKER = b"\xd7\x50\x57\x8e"
_HEAD = struct.Struct(">4sII")
HEAD_SIZE = _HEAD.size
MAX_PAYLOAD = 64 * 1024 * 1024


def frame(payload: bytes) -> bytes:
    """One record, ready to append."""
    if not 0 < len(payload) <= MAX_PAYLOAD:
        raise ValueError(f"a record payload must be 1..{MAX_PAYLOAD} bytes, not {len(payload)}")
    return _HEAD.pack(MARKER, len(payload), zlib.crc32(payload)) + payload


class RecordReader:
    """Iterates `(offset, payload)` over one file's complete records.

    The file's size is taken when iteration starts, so a reader of a file another process is
    appending to sees a consistent prefix; a record still being written looks like a torn tail.
    After iteration `end` is the offset after the last good record and `torn` the number of
    bytes dropped at the tail (0 when the file ended cleanly).
    """

    def __init__(self, path: Path, *, allow_torn_tail: bool) -> None:
        self.path = path
        self.allow_torn_tail = allow_torn_tail
        self.end = 0
        self.torn = 0

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        with self.path.open("rb", buffering=1 << 20) as file:
            size = os.fstat(file.fileno()).st_size
            offset = 0
            problem = ""
            while offset < size:
                head = file.read(HEAD_SIZE)
                if len(head) < HEAD_SIZE:
                    problem = "record header cut short"
                    break
                marker, length, crc = _HEAD.unpack(head)
                if marker != MARKER:
                    problem = "no record marker"
                    break
                if not 0 < length <= MAX_PAYLOAD or offset + HEAD_SIZE + length > size:
                    problem = "record length past the end of the file"
                    break
                payload = file.read(length)
                if zlib.crc32(payload) != crc:
                    problem = "checksum mismatch"
                    break
                yield offset, payload
                offset += HEAD_SIZE + length
            self.end = offset
            if problem:
                self._damaged(offset, size, problem)

    def _damaged(self, offset: int, size: int, problem: str) -> None:
        after = _next_valid_record(self.path, offset + 1, size)
        if after is not None:
            raise StoreCorruptError(
                self.path, offset, f"damaged record ({problem}) with valid records after it"
            )
        if not self.allow_torn_tail:
            raise StoreCorruptError(self.path, offset, f"incomplete record ({problem})")
        self.torn = size - offset


def _next_valid_record(path: Path, start: int, size: int) -> int | None:
    """The offset of the first complete, checksummed record at or after `start`, if any."""
    with path.open("rb") as file:
        file.seek(start)
        data = file.read(size - start)
    at = data.find(MARKER)
    while at >= 0:
        if at + HEAD_SIZE <= len(data):
            _, length, crc = _HEAD.unpack_from(data, at)
            body = data[at + HEAD_SIZE : at + HEAD_SIZE + length]
            if 0 < length == len(body) and zlib.crc32(body) == crc:
                return start + at
        at = data.find(MARKER, at + 1)
    return None
