"""A throwaway Samba AD domain controller on loopback: provision (cached), start, stop."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from pwreset_lab import net, samba_build, samba_cache
from pwreset_lab.directory import SAMPLE_PASSWORD, SAMPLE_USERS, LabDirectory, throwaway_password
from pwreset_lab.errors import LabError
from pwreset_lab.packages import ensure_packages

PACKAGES = ["samba", "samba-ad-dc", "samba-ad-provision", "winbind", "krb5-user", "ldap-utils"]
# The ldap service takes LDAP, LDAPS and the global catalog ports; cldap takes UDP 389.
TCP_PORTS = [389, 636, 3268, 3269]
UDP_PORTS = [389]


@dataclass(kw_only=True)
class SambaLab(LabDirectory):
    """A running (or recorded) Samba AD lab."""

    KIND = "ad"
    EXE = "samba"
    START_TIMEOUT = 120.0
    STOP_GRACE = 10.0

    realm: str = samba_build.REALM
    netbios: str = samba_build.NETBIOS
    dns_domain: str = samba_build.DNS_DOMAIN
    base_dn: str = samba_build.BASE_DN
    people_dn: str = samba_build.PEOPLE_DN
    port: int = 636
    admin_upn: str = f"Administrator@{samba_build.DNS_DOMAIN}"
    service_upn: str = f"{samba_build.SERVICE_NAME}@{samba_build.DNS_DOMAIN}"
    service_dn: str = samba_build.SERVICE_DN
    # The certificate's CN (it has no SAN): certificate checks expect this name.
    server_name: str = samba_build.SERVER_NAME

    @property
    def target_dir(self) -> Path:
        return self.root / samba_cache.TARGET

    @property
    def smb_conf(self) -> Path:
        return self.target_dir / "etc" / "smb.conf"

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://{self.host}:{self.port}"

    @property
    def tls_name(self) -> str:
        return self.server_name

    @property
    def admin_login(self) -> str:
        return self.admin_upn

    @property
    def service_login(self) -> str:
        return self.service_upn

    def upn(self, name: str) -> str:
        return f"{name}@{self.dns_domain}"


def start_samba(root: Path, *, cache_dir: Path | None = None) -> SambaLab:
    """Start a pristine seeded Samba DC under `root`, from the cache (built if missing)."""
    ensure_packages(PACKAGES)
    root = root.resolve()
    SambaLab.prepare_root(root)
    net.require_free(TCP_PORTS, UDP_PORTS, "the Samba AD lab")
    cache_dir = samba_cache.safe_cache_dir(cache_dir or samba_cache.DEFAULT_CACHE_DIR)
    key = samba_cache.cache_key([Path(__file__)])
    entry = samba_cache.entry_path(cache_dir, key)
    with samba_cache.locked(cache_dir):
        if not samba_cache.is_usable(entry):
            entry = _build_entry(cache_dir, key)
        cached = SambaLab.from_json(entry)
        target = samba_cache.restore(entry, root)
    lab = dataclasses.replace(
        cached, root=root, pid=0, ca_file=target / "private" / "tls" / "ca.pem"
    )
    _start(lab)
    return lab


def _build_entry(cache_dir: Path, key: str) -> Path:
    """Provision, start, seed and stop a DC in a staging dir, then publish it in the cache."""
    staging = samba_cache.staging_dir(cache_dir, key)
    target = staging / samba_cache.TARGET
    lab = SambaLab(
        root=staging,
        pid=0,
        admin_password=throwaway_password(),
        service_password=throwaway_password(),
        ca_file=target / "private" / "tls" / "ca.pem",
        sample_users=dict.fromkeys(SAMPLE_USERS, SAMPLE_PASSWORD),
    )
    samba_build.provision(target, lab.admin_password, staging / "provision.log")
    _start(lab)
    try:
        with lab.admin_session() as conn:
            samba_build.seed(conn, lab.smb_conf, lab.service_password)
    finally:
        lab.stop()
    return samba_cache.store(staging, cache_dir, key)


def _start(lab: SambaLab) -> None:
    """Start samba on `lab`'s target dir, wait for an LDAPS bind, record the lab."""
    argv = ["samba", "-s", str(lab.smb_conf), "--foreground", "--no-process-group",
            "--debug-stdout", "-d", "1"]  # fmt: skip
    try:
        # Port 389 answers before TLS is ready, and the first start makes the TLS key:
        # only a real LDAPS bind proves the lab usable.
        lab.launch(
            argv,
            lab.root / "samba.out",
            ready=lambda: (
                lab.ca_file.is_file() and lab.takes_bind(lab.admin_upn, lab.admin_password)
            ),
            what="an LDAPS bind as Administrator to samba",
        )
    except LabError:
        # Most likely cause: something (another test session's lab?) took a port after
        # start_samba checked them. Name the port if so; else the log tail says why.
        net.require_free(TCP_PORTS, UDP_PORTS, "the Samba AD lab")
        raise
