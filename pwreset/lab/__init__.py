"""Throwaway directories on loopback for `pwreset demo` and the tests.

`start_slapd` builds an OpenLDAP with ppolicy in a few hundred milliseconds; `start_samba`
restores a cached, seeded Samba AD domain controller (provisioning it once, ~15 s). Both
record themselves in <root>/lab.json, so `python -m pwreset.lab ... stop` can end them from
another process. SlapdAdmin / SambaAdmin are what tests use to create, lock and probe users.
"""

from __future__ import annotations

from pwreset.lab.admin import BindResult, DirectoryAdmin
from pwreset.lab.errors import LabError
from pwreset.lab.packages import ensure_packages
from pwreset.lab.samba import SambaLab, running_samba, start_samba, stop_samba
from pwreset.lab.samba_admin import SambaAdmin
from pwreset.lab.slapd import SlapdLab, running_slapd, start_slapd, stop_slapd
from pwreset.lab.slapd_admin import SlapdAdmin

__all__ = [
    "BindResult",
    "DirectoryAdmin",
    "LabError",
    "SambaAdmin",
    "SambaLab",
    "SlapdAdmin",
    "SlapdLab",
    "ensure_packages",
    "running_samba",
    "running_slapd",
    "start_samba",
    "start_slapd",
    "stop_samba",
    "stop_slapd",
]
