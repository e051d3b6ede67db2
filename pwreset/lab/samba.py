"""A throwaway Samba AD domain controller on loopback: provision (cached), start, stop."""

from __future__ import annotations

import dataclasses
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from ldap3 import Server
from ldap3.core.exceptions import LDAPException

from pwreset.lab import ldapconn, net, process, record, samba_build, samba_cache
from pwreset.lab.errors import LabError
from pwreset.lab.packages import ensure_packages

PACKAGES = ["samba", "samba-ad-dc", "samba-ad-provision", "winbind", "krb5-user", "ldap-utils"]
EXE = "samba"
START_TIMEOUT = 120.0
STOP_GRACE = 10.0
# The ldap service takes LDAP, LDAPS and the global catalog ports; cldap takes UDP 389.
TCP_PORTS = [389, 636, 3268, 3269]
UDP_PORTS = [389]


@dataclass(kw_only=True)
class SambaLab:
    """A running (or recorded) Samba AD lab: where it is, how to reach it, who can bind."""

    root: Path
    pid: int
    admin_password: str
    service_password: str
    ca_file: Path
    sample_users: dict[str, str] = field(default_factory=dict)
    realm: str = samba_build.REALM
    netbios: str = samba_build.NETBIOS
    dns_domain: str = samba_build.DNS_DOMAIN
    base_dn: str = samba_build.BASE_DN
    people_dn: str = samba_build.PEOPLE_DN
    host: str = net.LOOPBACK
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

    def upn(self, name: str) -> str:
        return f"{name}@{self.dns_domain}"

    def server(self) -> Server:
        return ldapconn.tls_server(
            self.host, self.port, self.ca_file, valid_names=[self.server_name]
        )

    def is_running(self) -> bool:
        return process.is_running(self.pid, EXE, self.root)

    def to_json(self) -> None:
        record.save(self, self.root)

    @classmethod
    def from_json(cls, root: Path) -> SambaLab:
        return record.load(cls, root)


def start_samba(root: Path, *, cache_dir: Path | None = None) -> SambaLab:
    """Start a pristine seeded Samba DC under `root`, from the cache (built if missing)."""
    ensure_packages(PACKAGES)
    root = root.resolve()
    if running_samba(root):
        raise LabError(f"a Samba lab is already running in {root}; stop it first")
    net.require_free(TCP_PORTS, UDP_PORTS, "the Samba AD lab")
    cache_dir = samba_cache.safe_cache_dir(cache_dir or samba_cache.DEFAULT_CACHE_DIR)
    key = samba_cache.cache_key([Path(__file__)])
    entry = samba_cache.entry_path(cache_dir, key)
    if not samba_cache.is_usable(entry):
        entry = _build_entry(cache_dir, key)
    cached = SambaLab.from_json(entry)
    _prepare_root(root)
    target = samba_cache.restore(entry, root)
    lab = dataclasses.replace(
        cached, root=root, pid=0, ca_file=target / "private" / "tls" / "ca.pem"
    )
    _start(lab)
    return lab


def stop_samba(lab_or_root: SambaLab | Path) -> None:
    """Stop the lab's samba by PID: SIGTERM, wait 10 s for all its workers, then SIGKILL."""
    lab = lab_or_root if isinstance(lab_or_root, SambaLab) else SambaLab.from_json(lab_or_root)
    process.stop(lab.pid, EXE, lab.root, grace=STOP_GRACE)


def running_samba(root: Path) -> SambaLab | None:
    """The lab recorded under `root` if its samba is running, else None."""
    if not record.exists(root):
        return None
    lab = SambaLab.from_json(root)
    return lab if lab.is_running() else None


def _build_entry(cache_dir: Path, key: str) -> Path:
    """Provision, start, seed and stop a DC in a staging dir, then publish it in the cache."""
    staging = samba_cache.staging_dir(cache_dir, key)
    target = staging / samba_cache.TARGET
    lab = SambaLab(
        root=staging,
        pid=0,
        admin_password=_throwaway_password(),
        service_password=_throwaway_password(),
        ca_file=target / "private" / "tls" / "ca.pem",
        sample_users=dict.fromkeys(samba_build.SAMPLE_USERS, samba_build.SAMPLE_PASSWORD),
    )
    samba_build.provision(target, lab.admin_password, staging / "provision.log")
    _start(lab)
    try:
        conn = ldapconn.admin_connection(lab.server(), lab.admin_upn, lab.admin_password)
        try:
            samba_build.seed(conn, lab.smb_conf, lab.service_password)
        finally:
            conn.unbind()
    finally:
        stop_samba(lab)
    return samba_cache.store(staging, cache_dir, key)


def _start(lab: SambaLab) -> None:
    """Start samba on `lab`'s target dir, wait for an LDAPS bind, record the lab."""
    log = lab.root / "samba.out"
    argv = ["samba", "-s", str(lab.smb_conf), "--foreground", "--no-process-group",
            "--debug-stdout", "-d", "1"]  # fmt: skip
    lab.pid = process.spawn(argv, log, lab.root)
    lab.to_json()
    try:
        # Port 389 answers before TLS is ready, and the first start makes the TLS key:
        # only a real LDAPS bind proves the lab usable.
        process.wait_until(
            lambda: _admin_binds(lab),
            timeout=START_TIMEOUT,
            what="an LDAPS bind as Administrator to samba",
            pid=lab.pid,
            exe=EXE,
            cwd=lab.root,
            log=log,
        )
    except LabError:
        stop_samba(lab)
        # Most likely cause: something (another test session's lab?) took a port after
        # start_samba checked them. Name the port if so; else the log tail says why.
        net.require_free(TCP_PORTS, UDP_PORTS, "the Samba AD lab")
        raise


def _prepare_root(root: Path) -> None:
    if root.exists() and any(root.iterdir()) and not record.exists(root):
        raise LabError(f"{root} is not empty and holds no lab; refusing to wipe it")
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(mode=0o700, parents=True)
    root.chmod(0o700)  # mkdir's mode is filtered by the umask


def _throwaway_password() -> str:
    # Meets AD complexity; only ever valid for this one lab (and its cache entry).
    return f"Lab!{secrets.token_hex(8)}-1a"


def _admin_binds(lab: SambaLab) -> bool:
    if not lab.ca_file.is_file():
        return False
    try:
        conn = ldapconn.bind(lab.server(), lab.admin_upn, lab.admin_password)
    except LDAPException:
        return False
    ok = bool(conn.bound)
    conn.unbind()
    return ok
