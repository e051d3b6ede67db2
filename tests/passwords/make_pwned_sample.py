"""Writes pwned_sample/: a few range files in the Pwned Passwords format, for the tests.

Generated, never downloaded: each file is the range of one well-known breached password,
holding its real SHA-1 suffix among random ones (seeded), sorted, CRLF-terminated, with a
few count-0 padding lines as the range API's padding option adds. The counts are
illustrative, not the real ones. Run `python tests/passwords/make_pwned_sample.py` to
rewrite it.
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

SAMPLE = Path(__file__).with_name("pwned_sample")
# The sample's known-breached passwords and the counts the sample gives them.
BREACHED = {
    "password": 9_545_824,
    "Password1": 2_418_984,
    "P@ssw0rd": 78_215,
    "123456": 37_359_195,
    "12345678": 2_938_756,
    "qwerty": 10_556_095,
    "letmein": 652_145,
    "Welcome1": 240_542,
}
RANDOM_PER_RANGE = 40
PADDING_PER_RANGE = 3


def sha1_hex(password: str) -> str:
    return hashlib.sha1(password.encode("utf-8")).hexdigest().upper()


def range_lines(seed: int = 11) -> dict[str, list[tuple[str, int]]]:
    """prefix -> sorted (suffix, count) lines."""
    rng = random.Random(seed)
    ranges: dict[str, list[tuple[str, int]]] = {}
    for password, count in BREACHED.items():
        digest = sha1_hex(password)
        lines = ranges.setdefault(digest[:5], [])
        lines.append((digest[5:], count))
    for lines in ranges.values():
        for index in range(RANDOM_PER_RANGE + PADDING_PER_RANGE):
            suffix = f"{rng.getrandbits(140):035X}"
            count = 0 if index < PADDING_PER_RANGE else int(rng.paretovariate(1.2))
            lines.append((suffix, count))
        lines.sort()
    return ranges


def main() -> None:
    SAMPLE.mkdir(exist_ok=True)
    for old in SAMPLE.glob("*.txt"):
        old.unlink()
    for prefix, lines in range_lines().items():
        text = "".join(f"{suffix}:{count}\r\n" for suffix, count in lines)
        (SAMPLE / f"{prefix}.txt").write_bytes(text.encode("ascii"))


if __name__ == "__main__":
    main()
