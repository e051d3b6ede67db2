"""The stores under test: every test that takes `stores` runs on the embedded store and on
PostgreSQL (the lab's, one fresh schema per test)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pwreset_lab import PostgresLab

from pwreset.server.storage import Database
from pwreset.server.storage.postgres import PostgresStore

OpenStore = Callable[..., Any]


@pytest.fixture(params=["embedded", "postgresql"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenStore]:
    """`stores(data_key=..., **options)` opens (again) the one store of this test; each
    store opened is closed at the end. Options: audit_retention_days, previous_keys."""
    opened: list[Any] = []
    if request.param == "embedded":

        def open_store(**options: Any) -> Any:
            if options["data_key"] is None:  # the console's view, which needs no key
                opened.append(Database.open_readonly(tmp_path / "data"))
            else:
                opened.append(Database.open(tmp_path / "data", **options))
            return opened[-1]

    else:
        lab: PostgresLab = request.getfixturevalue("postgres_lab")
        dsn: str = request.getfixturevalue("pg_dsn")

        def open_store(**options: Any) -> Any:
            opened.append(PostgresStore.open(dsn, password=lab.password, **options))
            return opened[-1]

    yield open_store
    for store in opened:
        store.close()
