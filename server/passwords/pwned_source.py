"""Reading a Pwned Passwords SHA-1 download, one range (5-hex-digit prefix) at a time.

Two layouts are accepted, as the official downloader writes them: a folder of range files
(`00000` or `00000.txt` ... `FFFFF`, lines `SUFFIX35HEX:COUNT`) and one file of
`SHA1HEX:COUNT` lines ordered by hash. Either is read in prefix order with one range in
memory at a time. An error names the file, the line and the reason, never a line's text
(a wrong file could hold passwords).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from pwreset.server.passwords.breached_file import FOOTER_BYTES, MAGIC, RANGE_COUNT, Pairs
from pwreset.server.passwords.errors import SourceError

_RANGE_NAME = re.compile(r"^([0-9A-Fa-f]{5})(\.txt)?$")
_RANGE_LINES = re.compile(rb"(?:(?:[0-9A-F]{35}:[0-9]{1,12})?\r?\n)*(?:[0-9A-F]{35}:[0-9]{1,12})?")
_RANGE_PAIR = re.compile(rb"([0-9A-F]{35}):([0-9]+)")
_HASH_LINES = re.compile(rb"(?:(?:[0-9A-F]{40}:[0-9]{1,12})?\r?\n)*(?:[0-9A-F]{40}:[0-9]{1,12})?")
_HASH_PAIR = re.compile(rb"([0-9A-F]{5})([0-9A-F]{35}):([0-9]+)")
_LINE = re.compile(rb"([^:]*):?(.*)")
_CHUNK = 8 << 20
_MAX_LINE = 4096
# Files this is often given by mistake, by their first bytes.
_WRONG_FORMATS = {
    b"7z\xbc\xaf": "a 7-Zip archive: extract it first",
    b"PK\x03\x04": "a ZIP archive: extract it first",
}


def read_ranges(source: Path) -> Iterator[tuple[int, Pairs]]:
    """(prefix, pairs) of every range in `source`, in ascending prefix order."""
    if source.is_dir():
        return _range_folder(source)
    if source.is_file():
        if _written_by_import(source):
            raise SourceError(source, None, "a file `pwreset policy import` wrote, not a download")
        return _hash_file(source)
    raise SourceError(source, None, "no such file or folder")


def _range_folder(folder: Path) -> Iterator[tuple[int, Pairs]]:
    names = _range_names(folder)
    for prefix in range(RANGE_COUNT):
        name = names.get(prefix)
        if name is None:
            continue
        path = folder / name
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise SourceError(path, None, f"cannot be read: {exc.strerror}") from None
        yield prefix, _pairs(data.upper(), path, 1, hash_digits=35)


def _range_names(folder: Path) -> dict[int, str]:
    # A dict of a full download's million names takes about 100 MB; names are checked
    # before anything is written, so a wrong file fails the import at once.
    names: dict[int, str] = {}
    for entry in folder.iterdir():
        if entry.name.startswith("."):
            continue
        match = _RANGE_NAME.match(entry.name)
        if not match or not entry.is_file():
            raise SourceError(
                entry,
                None,
                "not a range file: a range is named by five hex digits, "
                "00000 to FFFFF, optionally with .txt",
            )
        prefix = int(match.group(1), 16)
        if prefix in names:
            raise SourceError(entry, None, f"a second file for range {prefix:05X}")
        names[prefix] = entry.name
    if not names:
        raise SourceError(folder, None, "no range files (00000 to FFFFF) in this folder")
    return names


def _hash_file(path: Path) -> Iterator[tuple[int, Pairs]]:
    current = -1
    bucket: Pairs = []
    line = 1
    with path.open("rb") as file:
        for raw in _line_blocks(file, path):
            block = raw.upper()
            if line == 1:
                _check_format(block, path)
            for prefix_hex, suffix, count in _pairs(block, path, line, hash_digits=40):
                prefix = int(prefix_hex, 16)
                if prefix != current:
                    if prefix < current:
                        at = line + block[: block.find(prefix_hex + suffix)].count(b"\n")
                        raise SourceError(
                            path,
                            at,
                            "not ordered by hash: use the download ordered by hash, or the "
                            "downloader's range files",
                        )
                    if bucket:
                        yield current, bucket
                    current, bucket = prefix, []
                bucket.append((suffix, count))
            line += block.count(b"\n")
    if current < 0:
        raise SourceError(path, None, "no hashes in this file")
    yield current, bucket


def _line_blocks(file: BinaryIO, path: Path) -> Iterator[bytes]:
    """The file in blocks of whole lines (the last one may lack its line break)."""
    carry = b""
    while chunk := file.read(_CHUNK):
        data = carry + chunk
        cut = data.rfind(b"\n") + 1
        if cut == 0 and len(data) > _MAX_LINE:
            raise SourceError(path, None, "not a Pwned Passwords file: no line breaks")
        yield data[:cut]
        carry = data[cut:]
    if carry:
        yield carry


def _written_by_import(path: Path) -> bool:
    with path.open("rb") as file:
        size = file.seek(0, os.SEEK_END)
        if size < FOOTER_BYTES:
            return False
        file.seek(size - FOOTER_BYTES)
        return file.read(len(MAGIC)) == MAGIC


def _check_format(head: bytes, path: Path) -> None:
    for magic, reason in _WRONG_FORMATS.items():
        if head.startswith(magic.upper()):
            raise SourceError(path, 1, f"not a Pwned Passwords file: {reason}")


def _pairs(data: bytes, path: Path, first_line: int, hash_digits: int) -> list[Any]:
    lines, pair = (_RANGE_LINES, _RANGE_PAIR) if hash_digits == 35 else (_HASH_LINES, _HASH_PAIR)
    if not lines.fullmatch(data):
        if first_line == 1:
            _check_format(data, path)
        number, reason = _first_problem(data, hash_digits)
        raise SourceError(path, first_line + number, reason)
    return pair.findall(data)


def _first_problem(data: bytes, hash_digits: int) -> tuple[int, str]:
    """The first bad line (counted from 0) and what is wrong with it, without its text."""
    for number, raw in enumerate(data.split(b"\n")):
        text = raw.rstrip(b"\r")
        if not text:
            continue
        match = _LINE.fullmatch(text)
        assert match is not None
        digest, count = match.groups()
        if b":" not in text:
            return number, f"expected {hash_digits} hex digits, ':' and a count; found no ':'"
        if len(digest) in (27, 32):
            return number, "a hash of NTLM length: download the SHA-1 hashes, not NTLM"
        if len(digest) != hash_digits:
            kind = "a range file" if hash_digits == 35 else "a file of whole hashes"
            return number, (
                f"expected {hash_digits} hex digits before ':' in {kind}, found "
                f"{len(digest)} characters"
            )
        if not re.fullmatch(rb"[0-9A-F]+", digest):
            return number, "the hash has characters that are not hex digits"
        if not re.fullmatch(rb"[0-9]{1,12}", count):
            return number, "the count after ':' is not a whole number"
    return 0, "not a Pwned Passwords file"
