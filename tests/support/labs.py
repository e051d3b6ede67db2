"""The lab directories for scripts outside pytest (bench/): the one running in a folder is
reused, or one is started there and stopped when `stack` closes."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pwreset_lab


def lab_and_admin(kind: str, base: Path, stack: ExitStack) -> tuple[Any, Any]:
    """The `kind` ("openldap" or "ad") lab under `base` and its admin helper."""
    if kind == "ad":
        root = base / "samba"
        running = pwreset_lab.SambaLab.running(root)
        if running is None:
            running = pwreset_lab.start_samba(root)
            stack.callback(running.stop)
        return running, pwreset_lab.SambaAdmin(running)
    root = base / "slapd"
    slapd = pwreset_lab.SlapdLab.running(root)
    if slapd is None:
        slapd = pwreset_lab.start_slapd(root)
        stack.callback(slapd.stop)
    return slapd, pwreset_lab.SlapdAdmin(slapd)


@contextmanager
def pg_schema(lab: pwreset_lab.PostgresLab, prefix: str) -> Iterator[str]:
    """A DSN whose tables land in a new schema of `lab`, dropped afterwards."""
    schema = prefix + secrets.token_hex(6)
    with psycopg.connect(lab.dsn, password=lab.password, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{lab.dsn}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(lab.dsn, password=lab.password, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
