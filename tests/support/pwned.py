"""The Pwned Passwords range-format sample the tests share, and a writer of range files."""

from __future__ import annotations

import random
from pathlib import Path

SAMPLE = Path(__file__).parents[1] / "passwords" / "pwned_sample"


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
