"""The imported breached-password list: a compact file searched in place through mmap.

Layout, written front to back in one pass (entries compare as big-endian bytes; the index
and the footer are little-endian):

    entries  sorted per range: SUFFIX_BYTES of the hash after its 5-hex-digit prefix,
             then a u16 count (saturating at 65535)
    index    (2**20 + 1) x u64: the entry number where each prefix's range starts
    footer   64 bytes: MAGIC, version, suffix and count widths, min_count, entries, ranges,
             import time

The SHA-1 has 160 bits; kept are the 20 of the prefix (by position) and the next 48. A
password not in the list is taken for a breached one only if those 68 bits equal those of
one of the ~n / 2**20 entries of its range: with n = 1 billion (the whole download), about
954 / 2**48 = 3.4e-12 per lookup, one wrongly refused password in 300 billion. The file
takes 8 bytes per hash: 8 GB for the whole download, against about 40 GB of text.
"""

from __future__ import annotations

import binascii
import hashlib
import mmap
import os
import struct
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pwreset.config.password_settings import MAX_BREACHED_COUNT
from pwreset.server.passwords.errors import BreachedFileError
from pwreset.server.storage.durable import write_atomic

MAGIC = b"PWRBRCH1"
VERSION = 1
RANGE_COUNT = 1 << 20
PREFIX_DIGITS = 5
SUFFIX_BYTES = 6
COUNT_BYTES = 2
ENTRY_BYTES = SUFFIX_BYTES + COUNT_BYTES
INDEX_BYTES = (RANGE_COUNT + 1) * 8
FOOTER_BYTES = 64
_FOOTER = struct.Struct("<8sHHHHIQQQ")
_RANGE_BOUNDS = struct.Struct("<QQ")

# (suffix hex, count) pairs of one range, as the source reads them.
Pairs = list[tuple[bytes, bytes]]


@dataclass(frozen=True)
class ImportSummary:
    entries: int
    ranges: int
    skipped: int  # hashes below min_count
    seconds: float


class BreachedList:
    """An imported file, mapped read-only: a lookup reads one index slot and ~10 entries."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            with path.open("rb") as file:
                size = os.fstat(file.fileno()).st_size
                if size < INDEX_BYTES + FOOTER_BYTES:
                    raise BreachedFileError(path, "too short to be a breached-password file")
                self._map = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
        except OSError as exc:
            raise BreachedFileError(path, f"cannot be read: {exc.strerror}") from None
        try:
            self._read_footer(size)
        except BreachedFileError:
            self._map.close()
            raise

    def _read_footer(self, size: int) -> None:
        fields = _FOOTER.unpack_from(self._map, size - FOOTER_BYTES)
        magic, version, suffix_bytes, count_bytes, _, min_count, entries, ranges, _ = fields
        if magic != MAGIC:
            raise BreachedFileError(self.path, "not a file written by `pwreset policy import`")
        if (version, suffix_bytes, count_bytes) != (VERSION, SUFFIX_BYTES, COUNT_BYTES):
            raise BreachedFileError(
                self.path, f"format version {version}: import the download again"
            )
        if size != entries * ENTRY_BYTES + INDEX_BYTES + FOOTER_BYTES:
            raise BreachedFileError(self.path, "truncated or damaged: import the download again")
        self.min_count: int = min_count
        self.entries: int = entries
        self.ranges: int = ranges
        self._index_offset = entries * ENTRY_BYTES

    def count(self, password: str) -> int:
        """How often the password was seen in breaches (0: not in the list)."""
        data = password.encode("utf-8", "surrogatepass")
        return self.count_hex(hashlib.sha1(data, usedforsecurity=False).hexdigest())

    def count_hex(self, sha1_hex: str) -> int:
        prefix = int(sha1_hex[:PREFIX_DIGITS], 16)
        key = bytes.fromhex(sha1_hex[PREFIX_DIGITS : PREFIX_DIGITS + 2 * SUFFIX_BYTES])
        data = self._map
        low, high = _RANGE_BOUNDS.unpack_from(data, self._index_offset + prefix * 8)
        while low < high:
            middle = (low + high) // 2
            at = middle * ENTRY_BYTES
            probe = data[at : at + SUFFIX_BYTES]
            if probe < key:
                low = middle + 1
            elif probe > key:
                high = middle
            else:
                return int.from_bytes(data[at + SUFFIX_BYTES : at + ENTRY_BYTES], "big")
        return 0

    def close(self) -> None:
        self._map.close()


def write_breached_file(
    out: Path,
    ranges: Iterable[tuple[int, Pairs]],
    min_count: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> ImportSummary:
    """Write the ranges (ascending prefixes) to `out` atomically (`write_atomic`: a temp
    file beside it, synced, renamed over it), so a failed import leaves the old file intact.
    """
    started = time.monotonic()
    totals = {"entries": 0, "ranges": 0, "skipped": 0}

    def chunks() -> Iterator[bytes]:
        index = [0] * (RANGE_COUNT + 1)
        entries = next_prefix = 0
        for prefix, pairs in ranges:
            index[next_prefix : prefix + 1] = [entries] * (prefix + 1 - next_prefix)
            block, kept, below = _range_entries(pairs, min_count)
            yield block
            entries += kept
            totals["skipped"] += below
            totals["ranges"] += 1
            next_prefix = prefix + 1
            if progress is not None:
                progress(next_prefix, RANGE_COUNT)
        index[next_prefix:] = [entries] * (RANGE_COUNT + 1 - next_prefix)
        yield struct.pack(f"<{RANGE_COUNT + 1}Q", *index)
        footer = _FOOTER.pack(
            MAGIC,
            VERSION,
            SUFFIX_BYTES,
            COUNT_BYTES,
            0,
            min_count,
            entries,
            totals["ranges"],
            int(time.time()),
        )
        yield footer.ljust(FOOTER_BYTES, b"\0")
        totals["entries"] = entries

    # Readable by the server's account, whoever imports: the list is public data.
    write_atomic(out, chunks(), mode=0o644)
    seconds = time.monotonic() - started
    return ImportSummary(totals["entries"], totals["ranges"], totals["skipped"], seconds)


def _range_entries(pairs: Pairs, min_count: int) -> tuple[bytes, int, int]:
    """One range's entries, sorted, with their number and the number of hashes below
    min_count; hashes equal in their stored bits become one entry."""
    merged: dict[bytes, int] = {}
    below = 0
    for suffix_hex, count_text in pairs:
        count = int(count_text)
        if count < min_count:
            below += 1
            continue
        key = binascii.unhexlify(suffix_hex[: 2 * SUFFIX_BYTES])
        merged[key] = min(MAX_BREACHED_COUNT, merged.get(key, 0) + count)
    entries = (key + count.to_bytes(COUNT_BYTES, "big") for key, count in sorted(merged.items()))
    return b"".join(entries), len(merged), below
