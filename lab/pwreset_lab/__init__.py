"""Throwaway directories on loopback for `pwreset demo`, the tests and the benches.

Not part of pwreset: it installs Debian packages (as root) and starts daemons. `start_slapd`
builds an OpenLDAP with ppolicy in a few hundred milliseconds; `start_samba` restores a
cached, seeded Samba AD domain controller (provisioning it once, ~15 s). Both record
themselves in <root>/lab.json, so `python -m pwreset_lab ... stop` can end them from another
process. `SlapdLab.running(root)` finds a running one and `lab.stop()` ends it; SlapdAdmin /
SambaAdmin are what tests use to create, lock and probe users. `start_postgres` starts a
throwaway PostgreSQL the same way.
"""

from __future__ import annotations

from pwreset_lab.admin import BindResult, LabAdmin
from pwreset_lab.directory import LabDirectory
from pwreset_lab.errors import LabError
from pwreset_lab.packages import ensure_packages
from pwreset_lab.postgres import PostgresLab, start_postgres
from pwreset_lab.samba import SambaLab, start_samba
from pwreset_lab.samba_admin import SambaAdmin
from pwreset_lab.slapd import SlapdLab, start_slapd
from pwreset_lab.slapd_admin import SlapdAdmin

__all__ = [
    "BindResult",
    "LabAdmin",
    "LabDirectory",
    "LabError",
    "PostgresLab",
    "SambaAdmin",
    "SambaLab",
    "SlapdAdmin",
    "SlapdLab",
    "ensure_packages",
    "start_postgres",
    "start_samba",
    "start_slapd",
]
