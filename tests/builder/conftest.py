"""Fixtures of the builder tests: an empty instance folder per test."""

from __future__ import annotations

from pathlib import Path

import pytest
from builder_support import Instance


@pytest.fixture
def instance(tmp_path: Path) -> Instance:
    return Instance(tmp_path / "instance")
