"""LabAdmin for the Samba AD lab: everything as Administrator over LDAPS."""

from __future__ import annotations

import re
import subprocess
from typing import Any

from ldap3 import MODIFY_REPLACE, Connection
from ldap3.utils.conv import escape_filter_chars

from pwreset_lab import samba_build
from pwreset_lab.admin import Changes, LabAdmin, check
from pwreset_lab.errors import LabError
from pwreset_lab.samba import SambaLab

UF_LOCKOUT = 0x10  # in msDS-User-Account-Control-Computed
_DATA_CODE = re.compile(r"data ([0-9a-fA-F]+)")


_EXPIRE = """
import sys, time, ldb
from samba.samdb import SamDB
from samba.auth import system_session
from samba.param import LoadParm
lp = LoadParm(); lp.load(sys.argv[1])
sam = SamDB(url=lp.private_path("sam.ldb"), session_info=system_session(), lp=lp)
dn = sam.search(sam.domain_dn(), expression="(sAMAccountName=%s)" % sys.argv[2], attrs=[])[0].dn
m = ldb.Message(); m.dn = dn
when = int((time.time() - float(sys.argv[3]) * 86400 + 11644473600) * 10**7)
m["pwdLastSet"] = ldb.MessageElement(str(when), ldb.FLAG_MOD_REPLACE, "pwdLastSet")
sam.modify(m, controls=["local_oid:1.3.6.1.4.1.7165.4.3.20:0"])
"""


class SambaAdmin(LabAdmin[SambaLab]):
    LOCKED_DETAIL = "775"

    def dn(self, name: str) -> str:
        with self._admin() as conn:
            return self._find(conn, name)

    def login(self, name: str) -> str:
        return self.lab.upn(name)

    def bind_detail(self, result: dict[str, Any]) -> str:
        code = _DATA_CODE.search(str(result["message"]))
        return code.group(1) if code else ""

    def _find(self, conn: Connection, name: str) -> str:
        query = f"(&(objectClass=user)(sAMAccountName={escape_filter_chars(name)}))"
        return _one_dn(conn, self.lab.people_dn, query, f"user {name}")

    def create_user(
        self, name: str, password: str, *, must_change: bool = False, disabled: bool = False
    ) -> str:
        with self._admin() as conn:
            dn = samba_build.add_user(conn, name, password, disabled=disabled)
            if must_change:
                change = {"pwdLastSet": [(MODIFY_REPLACE, ["0"])]}
                check(conn, conn.modify(dn, change), f"must-change {name}")
        return dn

    def set_password(self, name: str, password: str, *, must_change: bool = False) -> None:
        change: Changes = {"unicodePwd": [(MODIFY_REPLACE, [samba_build.unicode_pwd(password)])]}
        if must_change:
            change["pwdLastSet"] = [(MODIFY_REPLACE, ["0"])]
        with self._admin() as conn:
            check(conn, conn.modify(self._find(conn, name), change), f"reset {name}")

    def is_locked(self, name: str) -> bool:
        """True while AD computes UF_LOCKOUT (lockoutTime set and within the duration)."""
        with self._admin() as conn:
            dn = self._find(conn, name)
            # A constructed attribute: ask for it by name, on a base search.
            attr = "msDS-User-Account-Control-Computed"
            conn.search(dn, "(objectClass=user)", "BASE", attributes=[attr])
            value = conn.response[0]["attributes"].get(attr) or 0
            return bool(int(value[0] if isinstance(value, list) else value) & UF_LOCKOUT)

    def unlock(self, name: str) -> None:
        with self._admin() as conn:
            dn = self._find(conn, name)
            check(conn, conn.modify(dn, {"lockoutTime": [(MODIFY_REPLACE, ["0"])]}), "unlock")

    def failed_logons(self, name: str) -> int:
        """Failed binds the directory counts toward its lockout (badPwdCount)."""
        return int(str(self._read(name, "badPwdCount") or 0))

    def must_change(self, name: str) -> bool:
        """Whether the next sign-in must change the password (pwdLastSet = 0)."""
        return str(self._read(name, "pwdLastSet")) == "0"

    def set_never_expires(self, name: str) -> None:
        """Set DONT_EXPIRE_PASSWORD (0x10000) in userAccountControl."""
        with self._admin() as conn:
            dn = self._find(conn, name)
            uac = int(str(self._read(name, "userAccountControl") or 512)) | 0x10000
            change = {"userAccountControl": [(MODIFY_REPLACE, [str(uac)])]}
            check(conn, conn.modify(dn, change), f"never-expires {name}")

    def create_group(self, name: str, members: list[str]) -> str:
        """A global security group in OU=SSPR; members are user or earlier group names."""
        with self._admin() as conn:
            dns = [self._any_dn(conn, m) for m in members]
            dn = f"CN={name},{samba_build.SSPR_OU}"
            attrs = {"sAMAccountName": name, "member": dns} if dns else {"sAMAccountName": name}
            check(conn, conn.add(dn, ["top", "group"], attrs), f"group {name}")
        return dn

    def _any_dn(self, conn: Connection, name: str) -> str:
        query = f"(sAMAccountName={escape_filter_chars(name)})"
        return _one_dn(conn, samba_build.SSPR_OU, query, f"object named {name}")

    def _read(self, name: str, attribute: str) -> object:
        with self._admin() as conn:
            dn = self._find(conn, name)
            conn.search(dn, "(objectClass=*)", "BASE", attributes=[attribute])
            values = conn.response[0]["attributes"].get(attribute)
            return values[0] if isinstance(values, list) and values else values

    def expire_password(self, name: str) -> None:
        """Make the password expired (pwdLastSet 100 days ago, maxPwdAge 90). LDAP only
        accepts 0 or -1 there, so this writes the local sam.ldb with Debian's python3,
        which has the samba bindings, and a control that lets pwdLastSet be set."""
        done = subprocess.run(
            ["/usr/bin/python3", "-c", _EXPIRE, str(self.lab.smb_conf), name, "100"],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise LabError(f"expire {name}: {done.stderr.strip()[-500:]}")

    def delete_user(self, name: str) -> None:
        with self._admin() as conn:
            dn = self._find(conn, name)
            check(conn, conn.delete(dn), f"delete {name}")


def _one_dn(conn: Connection, base: str, query: str, what: str) -> str:
    conn.search(base, query, attributes=[])
    # AD adds searchResRef items to responses; only entries count.
    dns = [r["dn"] for r in conn.response if r["type"] == "searchResEntry"]
    if len(dns) != 1:
        raise LabError(f"expected one {what} in {base}, found {len(dns)}")
    return str(dns[0])
