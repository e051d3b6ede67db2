"""A throwaway OpenLDAP slapd with ppolicy on loopback: build, start, stop."""

from __future__ import annotations

import secrets
import shutil
import subprocess
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from ldap3.core.exceptions import LDAPException

from pwreset.lab import ldapconn, net, process, record
from pwreset.lab.errors import LabError
from pwreset.lab.packages import ensure_packages
from pwreset.lab.slapd_ldif import (
    ADMIN_DN,
    PEOPLE_DN,
    POLICY_DN,
    SAMPLE_PASSWORD,
    SAMPLE_USERS,
    SERVICE_DN,
    SUFFIX,
    config_ldif,
    data_ldif,
)

PACKAGES = ["slapd", "ldap-utils", "openssl"]
EXE = "slapd"
START_TIMEOUT = 30.0
# ldap3's hostname check on Python >= 3.12 does not match IP addresses; the certificate
# carries DNS:localhost as well.
TLS_NAME = "localhost"
# sun_path is 108 bytes; slapd refuses a longer ldapi socket path.
MAX_SOCKET_PATH = 100


@dataclass(kw_only=True)
class SlapdLab:
    """A running (or recorded) slapd lab: where it is, how to reach it, who can bind."""

    root: Path
    port: int
    tls_port: int
    pid: int
    admin_password: str
    service_password: str
    ca_file: Path
    sample_users: dict[str, str] = field(default_factory=dict)
    host: str = net.LOOPBACK
    base_dn: str = SUFFIX
    people_dn: str = PEOPLE_DN
    admin_dn: str = ADMIN_DN
    service_dn: str = SERVICE_DN
    policy_dn: str = POLICY_DN

    @property
    def ldap_url(self) -> str:
        return f"ldap://{self.host}:{self.port}"

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://{self.host}:{self.tls_port}"

    @property
    def ldapi_url(self) -> str:
        """Root over this socket (`ldapmodify -Y EXTERNAL -H URL`) manages cn=config."""
        return "ldapi://" + urllib.parse.quote(str(self.root / "ldapi"), safe="")

    def user_dn(self, uid: str) -> str:
        return f"uid={uid},{self.people_dn}"

    def is_running(self) -> bool:
        return process.is_running(self.pid, EXE, self.root)

    def to_json(self) -> None:
        record.save(self, self.root)

    @classmethod
    def from_json(cls, root: Path) -> SlapdLab:
        return record.load(cls, root)


def start_slapd(root: Path, *, port: int | None = None, tls_port: int | None = None) -> SlapdLab:
    """Build a fresh slapd under `root` (wiping an old stopped lab there) and start it."""
    ensure_packages(PACKAGES)
    root = root.resolve()
    if len(str(root / "ldapi")) > MAX_SOCKET_PATH:
        raise LabError(f"lab directory path too long for slapd's ldapi socket: {root}")
    _prepare_root(root)
    port = port or net.free_port()
    tls_port = tls_port or net.free_port(avoid={port})
    lab = SlapdLab(
        root=root,
        port=port,
        tls_port=tls_port,
        pid=0,
        admin_password=_throwaway_password(),
        service_password=_throwaway_password(),
        ca_file=root / "tls.crt",
        sample_users=dict.fromkeys(SAMPLE_USERS, SAMPLE_PASSWORD),
    )
    net.require_free([lab.port, lab.tls_port], [], "slapd")
    _make_certificate(root)
    _slapadd(root, 0, config_ldif(root, lab.admin_password))
    # slapadd skips overlays, so the seed carries pre-hashed passwords (see slapd_ldif.ssha).
    _slapadd(root, 1, data_ldif(lab.service_password))
    urls = f"{lab.ldap_url}/ {lab.ldaps_url}/ {lab.ldapi_url}"
    # -d 256 keeps slapd in the foreground (so the PID is the daemon's) and logs stats.
    argv = ["slapd", "-F", str(root / "slapd.d"), "-d", "256", "-h", urls]
    lab.pid = process.spawn(argv, root / "slapd.log", root)
    lab.to_json()
    try:
        process.wait_until(
            lambda: _service_binds(lab),
            timeout=START_TIMEOUT,
            what="a service-account bind to slapd",
            pid=lab.pid,
            exe=EXE,
            cwd=lab.root,
            log=root / "slapd.log",
        )
    except LabError:
        process.stop(lab.pid, EXE, lab.root, grace=5.0)
        raise
    return lab


def stop_slapd(lab_or_root: SlapdLab | Path) -> None:
    """Stop the lab's slapd by PID: SIGTERM, then SIGKILL after 5 s."""
    lab = lab_or_root if isinstance(lab_or_root, SlapdLab) else SlapdLab.from_json(lab_or_root)
    process.stop(lab.pid, EXE, lab.root, grace=5.0)


def running_slapd(root: Path) -> SlapdLab | None:
    """The lab recorded under `root` if its slapd is running, else None."""
    if not record.exists(root):
        return None
    lab = SlapdLab.from_json(root)
    return lab if lab.is_running() else None


def _prepare_root(root: Path) -> None:
    if running_slapd(root):
        raise LabError(f"a slapd lab is already running in {root}; stop it first")
    if root.exists() and any(root.iterdir()) and not record.exists(root):
        raise LabError(f"{root} is not empty and holds no lab; refusing to wipe it")
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(mode=0o700, parents=True)
    root.chmod(0o700)  # mkdir's mode is filtered by the umask, and an old dir may be looser
    (root / "slapd.d").mkdir()
    (root / "data").mkdir()


def _throwaway_password() -> str:
    # Meets any quality rule the lab sets; only ever valid for this one lab.
    return f"Lab!{secrets.token_hex(8)}-1a"


def _make_certificate(root: Path) -> None:
    # Self-signed, used as its own CA by clients; the SANs make both 127.0.0.1 and localhost
    # pass a hostname check. EC keys keep generation instant.
    _run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:prime256v1", "-nodes", "-days", "30",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout", str(root / "tls.key"), "-out", str(root / "tls.crt"),
        ]
    )  # fmt: skip


def _slapadd(root: Path, database: int, ldif: str) -> None:
    _run(["slapadd", "-n", str(database), "-F", str(root / "slapd.d")], stdin=ldif)


def _run(argv: list[str], stdin: str | None = None) -> None:
    done = subprocess.run(argv, input=stdin, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise LabError(f"{argv[0]} failed (exit {done.returncode}): {done.stderr.strip()}")


def _service_binds(lab: SlapdLab) -> bool:
    try:
        server = ldapconn.tls_server(lab.host, lab.tls_port, lab.ca_file, valid_names=[TLS_NAME])
        conn = ldapconn.bind(server, lab.service_dn, lab.service_password)
    except LDAPException:
        return False
    ok = bool(conn.bound)
    conn.unbind()
    return ok
