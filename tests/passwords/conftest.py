"""Fixtures of the password tests: the shipped range-format sample, imported."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pwreset.server.passwords import BreachedList, read_ranges, write_breached_file

from support.pwned import SAMPLE


@pytest.fixture
def sample_list(tmp_path: Path) -> Iterator[BreachedList]:
    out = tmp_path / "breached.bin"
    write_breached_file(out, read_ranges(SAMPLE))
    breached = BreachedList(out)
    yield breached
    breached.close()
