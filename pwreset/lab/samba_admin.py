"""DirectoryAdmin for the Samba AD lab: everything as Administrator over LDAPS."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

from ldap3 import MODIFY_REPLACE, Connection, Server
from ldap3.utils.conv import escape_filter_chars

from pwreset.lab import ldapconn, samba_build
from pwreset.lab.admin import BindResult
from pwreset.lab.admin_base import LabAdmin, check
from pwreset.lab.errors import LabError
from pwreset.lab.ldapconn import Changes
from pwreset.lab.samba import SambaLab

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


class SambaAdmin(LabAdmin):
    LOCKED_DETAIL = "775"

    def __init__(self, lab: SambaLab) -> None:
        self.lab = lab

    def server(self) -> Server:
        return self.lab.server()

    @contextmanager
    def _admin(self) -> Iterator[Connection]:
        conn = ldapconn.admin_connection(self.server(), self.lab.admin_upn, self.lab.admin_password)
        try:
            yield conn
        finally:
            conn.unbind()

    def dn(self, name: str) -> str:
        with self._admin() as conn:
            return self._find(conn, name)

    def _find(self, conn: Connection, name: str) -> str:
        query = f"(&(objectClass=user)(sAMAccountName={escape_filter_chars(name)}))"
        conn.search(self.lab.people_dn, query, attributes=[])
        # AD adds searchResRef items to responses; only entries count.
        dns = [r["dn"] for r in conn.response if r["type"] == "searchResEntry"]
        if len(dns) != 1:
            raise LabError(f"expected one user {name} in {self.lab.people_dn}, found {len(dns)}")
        return str(dns[0])

    def create_user(
        self, name: str, password: str, *, must_change: bool = False, disabled: bool = False
    ) -> str:
        with self._admin() as conn:
            dn = samba_build.add_user(conn, name, password, disabled=disabled)
            if must_change:
                change = {"pwdLastSet": [(MODIFY_REPLACE, ["0"])]}
                check(conn, conn.modify(dn, change), f"must-change {name}")
        return dn

    def bind(self, name: str, password: str) -> BindResult:
        conn = ldapconn.bind(self.server(), self.lab.upn(name), password)
        try:
            result = conn.result
            message = str(result["message"])
            code = _DATA_CODE.search(message)
            return BindResult(
                ok=bool(conn.bound),
                code=int(result["result"]),
                message=message,
                detail=code.group(1) if code else "",
            )
        finally:
            conn.unbind()

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
        conn.search(samba_build.SSPR_OU, query, attributes=[])
        dns = [r["dn"] for r in conn.response if r["type"] == "searchResEntry"]
        if len(dns) != 1:
            raise LabError(f"expected one object named {name}, found {len(dns)}")
        return str(dns[0])

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
