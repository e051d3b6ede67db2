"""A throwaway OpenLDAP slapd with ppolicy on loopback: build, start, stop."""

from __future__ import annotations

import subprocess
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from pwreset_lab import net
from pwreset_lab.directory import SAMPLE_PASSWORD, SAMPLE_USERS, LabDirectory, throwaway_password
from pwreset_lab.errors import LabError
from pwreset_lab.packages import ensure_packages
from pwreset_lab.slapd_ldif import (
    ADMIN_DN,
    PEOPLE_DN,
    POLICY_DN,
    SERVICE_DN,
    SUFFIX,
    config_ldif,
    data_ldif,
)

PACKAGES = ["slapd", "ldap-utils", "openssl"]
# ldap3's hostname check on Python >= 3.12 does not match IP addresses; the certificate
# carries DNS:localhost as well.
TLS_NAME = "localhost"
# sun_path is 108 bytes; slapd refuses a longer ldapi socket path.
MAX_SOCKET_PATH = 100


@dataclass(kw_only=True)
class SlapdLab(LabDirectory):
    """A running (or recorded) slapd lab."""

    KIND = "openldap"
    EXE = "slapd"
    START_TIMEOUT = 30.0
    STOP_GRACE = 5.0

    port: int
    tls_port: int
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

    @property
    def tls_name(self) -> str:
        return TLS_NAME

    @property
    def admin_login(self) -> str:
        return self.admin_dn

    @property
    def service_login(self) -> str:
        return self.service_dn

    def user_dn(self, uid: str) -> str:
        return f"uid={uid},{self.people_dn}"


def start_slapd(root: Path, *, port: int | None = None, tls_port: int | None = None) -> SlapdLab:
    """Build a fresh slapd under `root` (wiping an old stopped lab there) and start it."""
    ensure_packages(PACKAGES)
    root = root.resolve()
    if len(str(root / "ldapi")) > MAX_SOCKET_PATH:
        raise LabError(f"lab directory path too long for slapd's ldapi socket: {root}")
    SlapdLab.prepare_root(root)
    (root / "slapd.d").mkdir()
    (root / "data").mkdir()
    port = port or net.free_port()
    tls_port = tls_port or net.free_port(avoid={port})
    lab = SlapdLab(
        root=root,
        port=port,
        tls_port=tls_port,
        pid=0,
        admin_password=throwaway_password(),
        service_password=throwaway_password(),
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
    lab.launch(
        argv,
        root / "slapd.log",
        ready=lambda: lab.takes_bind(lab.service_dn, lab.service_password),
        what="a service-account bind to slapd",
    )
    return lab


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
