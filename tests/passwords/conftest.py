"""Fixtures of the password tests: the shipped range-format sample, imported."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from pwreset.server.passwords import BreachedList, read_ranges, write_breached_file

SAMPLE = Path(__file__).with_name("pwned_sample")


def write_ranges(folder: Path, hashes: dict[str, int], shuffle: bool = False) -> Path:
    """Range files (downloader layout) holding these SHA-1s (40 hex digits) and counts;
    each range's lines sorted as the download has them, or shuffled."""
    folder.mkdir(parents=True, exist_ok=True)
    ranges: dict[str, list[str]] = {}
    for digest, count in sorted(hashes.items()):
        ranges.setdefault(digest[:5], []).append(f"{digest[5:]}:{count}\r\n")
    for prefix, lines in ranges.items():
        if shuffle:
            random.Random(prefix).shuffle(lines)
        (folder / f"{prefix}.txt").write_text("".join(lines), newline="")
    return folder


@pytest.fixture
def sample_list(tmp_path: Path) -> Iterator[BreachedList]:
    out = tmp_path / "breached.bin"
    write_breached_file(out, read_ranges(SAMPLE))
    breached = BreachedList(out)
    yield breached
    breached.close()
