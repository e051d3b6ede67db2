"""The Samba AD lab's recipe: provision a DC into a target dir, then seed it over LDAPS.

Everything here feeds the cache key (see samba_cache), so editing this file re-provisions.
"""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

from ldap3 import MODIFY_REPLACE, Connection

from pwreset_lab.directory import SAMPLE_PASSWORD, SAMPLE_USERS
from pwreset_lab.errors import LabError
from pwreset_lab.process import log_tail

REALM = "LAB.EXAMPLE.COM"
NETBIOS = "LAB"
DNS_DOMAIN = "lab.example.com"
HOST_NAME = "dc1"
BASE_DN = "DC=lab,DC=example,DC=com"
SSPR_OU = f"OU=SSPR,{BASE_DN}"
PEOPLE_DN = f"OU=People,{SSPR_OU}"
SERVICE_OU = f"OU=Service,{SSPR_OU}"
SERVICE_NAME = "svc-sspr"
SERVICE_DN = f"CN={SERVICE_NAME},{SERVICE_OU}"
GROUP_DN = f"CN=SSPR-Users,{SSPR_OU}"
SERVER_NAME = f"DC1.{DNS_DOMAIN}"

# userAccountControl bits.
UF_ACCOUNTDISABLE = 0x2
UF_NORMAL_ACCOUNT = 0x200
UF_DONT_EXPIRE_PASSWD = 0x10000

PROVISION_OPTIONS = [
    "interfaces = lo",
    "bind interfaces only = yes",
    # Otherwise provision copies the host's resolver as forwarder.
    "dns forwarder = 127.0.0.1",
    # LDAP and CLDAP are all the lab needs; no smbd/winbindd/kdc/dns to clash with the host.
    "server services = ldap cldap",
]
# Added to [global] after provisioning: by default the old password keeps binding for 60
# minutes after a change or reset, which would hide whether a reset took effect.
EXTRA_GLOBALS = ["old password allowed period = 0"]

_TICKS_PER_SECOND = 10**7  # AD intervals are negative counts of 100 ns ticks
DOMAIN_POLICY = {
    "pwdProperties": "1",  # DOMAIN_PASSWORD_COMPLEX
    "pwdHistoryLength": "3",
    "minPwdLength": "8",
    "minPwdAge": "0",
    "maxPwdAge": str(-90 * 86400 * _TICKS_PER_SECOND),
    "lockoutThreshold": "3",
    "lockoutDuration": str(-5 * 60 * _TICKS_PER_SECOND),
    "lockOutObservationWindow": str(-5 * 60 * _TICKS_PER_SECOND),
}

# Delegation to svc-sspr on OU=People, inherited by user objects only (CIIO):
# Reset Password, and read/write lockoutTime (unlock) and pwdLastSet (must change).
_USER_CLASS = "bf967aba-0de6-11d0-a285-00aa003049e2"
_DELEGATION = [
    ("CR", "00299570-246d-11d0-a768-00aa006e0529"),
    ("RPWP", "28630ebf-41d5-11d1-a9c1-0000f80367c1"),
    ("RPWP", "bf967a0a-0de6-11d0-a285-00aa003049e2"),
]


def provision(target: Path, admin_password: str, log: Path) -> None:
    """`samba-tool domain provision` into `target`, isolated from the host's Samba config."""
    empty = target.parent / "empty-smb.conf"
    # An empty --configfile keeps /etc/samba/smb.conf settings from leaking into the lab.
    empty.write_text("")
    argv = [
        "samba-tool", "domain", "provision", f"--configfile={empty}", f"--targetdir={target}",
        f"--realm={REALM}", f"--domain={NETBIOS}", "--server-role=dc",
        "--dns-backend=SAMBA_INTERNAL", "--use-rfc2307", f"--host-name={HOST_NAME}",
        f"--adminpass={admin_password}",
        *(f"--option={o}" for o in [*PROVISION_OPTIONS, *_private_paths(target)]),
    ]  # fmt: skip
    with log.open("wb") as out:
        done = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        raise LabError(f"samba-tool domain provision failed; {log}:\n{log_tail(log)}")
    conf = target / "etc" / "smb.conf"
    text = conf.read_text()
    lines = "".join(f"\t{g}\n" for g in EXTRA_GLOBALS)
    conf.write_text(text.replace("[global]\n", f"[global]\n{lines}", 1))
    # Samba aborts at start if it cannot write its self-signed TLS key here.
    (target / "private" / "tls").mkdir(mode=0o700, parents=True, exist_ok=True)
    (target / "run").mkdir(mode=0o755, exist_ok=True)


def _private_paths(target: Path) -> list[str]:
    # Left at their defaults these point into /run/samba and /var: a stale
    # /run/samba/samba.pid whose PID got reused makes samba refuse to start ("samba is
    # already running"), and two labs (or a distro samba) would share sockets.
    run = target / "run"
    return [
        f"log file = {target}/log.%m",
        f"pid directory = {run}",
        f"ncalrpc dir = {run}/ncalrpc",
        f"winbindd socket directory = {run}/winbindd",
        f"ntp signd socket directory = {run}/ntp_signd",
    ]


def seed(conn: Connection, smb_conf: Path, service_password: str) -> None:
    """Policy, OUs, service account with delegation, sample users and group.

    `conn` is bound as Administrator over LDAPS. LDAP adds are ~20x faster than one
    samba-tool process per object; only the security descriptor goes through samba-tool.
    """
    _ok(conn, conn.modify(BASE_DN, {k: [(MODIFY_REPLACE, [v])] for k, v in DOMAIN_POLICY.items()}))
    for ou in (SSPR_OU, PEOPLE_DN, SERVICE_OU):
        _ok(conn, conn.add(ou, ["top", "organizationalUnit"]))
    _ok(conn, conn.add(SERVICE_DN, ["top", "person", "organizationalPerson", "user"], {
        "sAMAccountName": SERVICE_NAME,
        "userPrincipalName": f"{SERVICE_NAME}@{DNS_DOMAIN}",
        "description": "SSPR service account",
        "unicodePwd": unicode_pwd(service_password),
        # Never expires: the lab must not break after 90 days of cached use.
        "userAccountControl": str(UF_NORMAL_ACCOUNT | UF_DONT_EXPIRE_PASSWD),
    }))  # fmt: skip
    _delegate(conn, smb_conf)
    members = []
    for name in SAMPLE_USERS:
        disabled = name == "dave"  # the disabled sample user
        members.append(add_user(conn, name, SAMPLE_PASSWORD, disabled=disabled, sample=True))
    _ok(conn, conn.add(GROUP_DN, ["top", "group"], {
        "sAMAccountName": "SSPR-Users", "member": members,
    }))  # fmt: skip


def add_user(
    conn: Connection, name: str, password: str, *, disabled: bool = False, sample: bool = False
) -> str:
    """Add a user under OU=People with a password in one LDAP add; return its DN."""
    given = name.capitalize()
    cn = f"{given} Test" if sample else name
    dn = f"CN={cn},{PEOPLE_DN}"
    uac = UF_NORMAL_ACCOUNT | (UF_ACCOUNTDISABLE if disabled else 0)
    attrs = {
        "sAMAccountName": name,
        "userPrincipalName": f"{name}@{DNS_DOMAIN}",
        "givenName": given,
        "sn": "Test",
        "displayName": f"{given} Test",
        "uid": name,
        "mail": f"{name}@{DNS_DOMAIN}",
        "telephoneNumber": "+15550100",
        "mobile": "+15550199",
        "unicodePwd": unicode_pwd(password),
        "userAccountControl": str(uac),
    }
    _ok(conn, conn.add(dn, ["top", "person", "organizationalPerson", "user"], attrs))
    return dn


def unicode_pwd(password: str) -> bytes:
    """AD's unicodePwd value: the password in double quotes, UTF-16-LE."""
    return f'"{password}"'.encode("utf-16-le")


def _delegate(conn: Connection, smb_conf: Path) -> None:
    conn.search(SERVICE_DN, "(objectClass=user)", "BASE", attributes=["objectSid"])
    sid = sid_string(conn.response[0]["raw_attributes"]["objectSid"][0])
    sddl = "".join(f"(OA;CIIO;{right};{guid};{_USER_CLASS};{sid})" for right, guid in _DELEGATION)
    argv = ["samba-tool", "dsacl", "set", "-s", str(smb_conf), f"--objectdn={PEOPLE_DN}",
            f"--sddl={sddl}"]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise LabError(f"samba-tool dsacl set failed: {done.stdout}{done.stderr}")


def sid_string(raw: bytes) -> str:
    """S-1-5-21-... from a binary objectSid."""
    revision, count = raw[0], raw[1]
    authority = int.from_bytes(raw[2:8], "big")
    subs = struct.unpack(f"<{count}I", raw[8 : 8 + 4 * count])
    return "-".join(["S", str(revision), str(authority), *map(str, subs)])


def _ok(conn: Connection, done: bool) -> None:
    if not done:
        r = conn.result
        raise LabError(f"seeding Samba failed: {r['description']} {r['message']} ({r['dn']})")
