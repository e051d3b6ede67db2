"""Session fixtures: the real lab directories (OpenLDAP slapd, Samba AD) and their admins,
and the lab PostgreSQL.

A lab starts only when a test asks for it. With PWRESET_LAB_DIR set, the labs live in
$PWRESET_LAB_DIR/slapd, …/samba and …/postgres: one already running there is reused and left
running; one started here is stopped at the end. A parallel worker (`-n N`) has its own
network namespace, where a lab running outside cannot be reached: it always starts its own,
in a temp dir. A lab that cannot start makes the fixture error out with the reason: the
suite never skips a directory test.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from pwreset_lab import (
    PostgresLab,
    SambaAdmin,
    SambaLab,
    SlapdAdmin,
    SlapdLab,
    start_postgres,
    start_samba,
    start_slapd,
)

from support.labs import pg_schema
from support.workers import group_by_file, in_worker, isolate_workers


def pytest_configure(config: pytest.Config) -> None:
    isolate_workers(config)


@pytest.fixture(scope="session")
def lab_base() -> Iterator[Path]:
    """Where the labs of this session live ($PWRESET_LAB_DIR, or a temp dir removed after)."""
    shared = os.environ.get("PWRESET_LAB_DIR")
    if shared and not in_worker():
        yield Path(shared).resolve()
        return
    # A short path: slapd's ldapi socket path must fit in 108 bytes.
    base = Path(tempfile.mkdtemp(prefix="pwreset-lab-"))
    # Others may pass through (not list it): PostgreSQL runs as an unprivileged user when
    # the tests run as root, and each lab's own folder stays 0700.
    base.chmod(0o711)
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def slapd_lab(lab_base: Path) -> Iterator[SlapdLab]:
    """A running OpenLDAP lab (ppolicy, sample users alice..erin, dave locked)."""
    root = lab_base / "slapd"
    running = SlapdLab.running(root)
    if running:
        yield running
        return
    lab = start_slapd(root)
    try:
        yield lab
    finally:
        lab.stop()


@pytest.fixture(scope="session")
def samba_lab(lab_base: Path) -> Iterator[SambaLab]:
    """A running Samba AD lab (policy, delegation, sample users alice..erin, dave disabled)."""
    root = lab_base / "samba"
    running = SambaLab.running(root)
    if running:
        yield running
        return
    lab = start_samba(root)
    try:
        yield lab
    finally:
        lab.stop()


@pytest.fixture(scope="session")
def postgres_lab(lab_base: Path) -> Iterator[PostgresLab]:
    """A running PostgreSQL (Debian's packages, own data folder, a free loopback port)."""
    root = lab_base / "postgres"
    running = PostgresLab.running(root)
    if running:
        yield running
        return
    lab = start_postgres(root)
    try:
        yield lab
    finally:
        lab.stop()


@pytest.fixture
def pg_dsn(postgres_lab: PostgresLab) -> Iterator[str]:
    """A DSN whose tables land in a schema of this test's own, dropped afterwards."""
    with pg_schema(postgres_lab, "t_") as dsn:
        yield dsn


@pytest.fixture
def slapd_admin(slapd_lab: SlapdLab) -> SlapdAdmin:
    return SlapdAdmin(slapd_lab)


@pytest.fixture
def samba_admin(samba_lab: SambaLab) -> SambaAdmin:
    return SambaAdmin(samba_lab)


@pytest.fixture
def fresh_user_name() -> str:
    """A unique name for a user only this test creates (fits sAMAccountName's 20 chars)."""
    return "t" + secrets.token_hex(4)


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests last: Playwright's sync API keeps an event loop running in the main
    thread for the rest of the session, where asyncio.run() would then fail."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
    group_by_file(items)
