"""LabAdmin for the OpenLDAP lab: everything as the rootdn over LDAPS."""

from __future__ import annotations

from typing import Any

from ldap3 import MODIFY_REPLACE, Connection
from ldap3.utils.dn import escape_rdn

from pwreset.server.directory import ppolicy
from pwreset_lab.admin import Changes, LabAdmin, check
from pwreset_lab.errors import LabError
from pwreset_lab.slapd import SlapdLab
from pwreset_lab.slapd_ldif import ADMIN_LOCK


class SlapdAdmin(LabAdmin[SlapdLab]):
    LOCKED_DETAIL = "accountLocked"
    # Without it OpenLDAP answers a locked account with a bare invalidCredentials; with it
    # the response control says accountLocked.
    BIND_CONTROLS = [ppolicy.REQUEST]

    def dn(self, name: str) -> str:
        return f"uid={escape_rdn(name)},{self.lab.people_dn}"

    def login(self, name: str) -> str:
        return self.dn(name)

    def bind_detail(self, result: dict[str, Any]) -> str:
        return ppolicy.from_result(result).error or ""

    def create_user(
        self, name: str, password: str, *, must_change: bool = False, disabled: bool = False
    ) -> str:
        dn = self.dn(name)
        attrs: dict[str, str] = {
            "uid": name,
            "cn": f"{name} Test",
            "sn": "Test",
            "mail": f"{name}@example.org",
            "mobile": "+15550199",
            # Cleartext on purpose: the overlay hashes it (olcPPolicyHashCleartext).
            "userPassword": password,
        }
        if must_change:
            attrs["pwdReset"] = "TRUE"
        if disabled:
            attrs["pwdAccountLockedTime"] = ADMIN_LOCK
        with self._admin() as conn:
            check(conn, conn.add(dn, ["inetOrgPerson"], attrs), f"add {dn}")
        return dn

    def set_password(self, name: str, password: str, *, must_change: bool = False) -> None:
        # The rootdn is a "password administrator" to ppolicy, which would set pwdReset on
        # its own (pwdMustChange TRUE); stating pwdReset in the same modify overrides that.
        change: Changes = {
            "userPassword": [(MODIFY_REPLACE, [password])],
            "pwdReset": [(MODIFY_REPLACE, ["TRUE"] if must_change else [])],
        }
        with self._admin() as conn:
            check(conn, conn.modify(self.dn(name), change), f"reset {name}")

    def is_locked(self, name: str) -> bool:
        """True while pwdAccountLockedTime is set (a lock, temporary or administrative)."""
        with self._admin() as conn:
            # ppolicy's operational attributes come back only when asked for by name.
            conn.search(
                self.dn(name), "(objectClass=*)", "BASE", attributes=["pwdAccountLockedTime"]
            )
            if not conn.entries:
                raise LabError(f"no user {name} in {self.lab.people_dn}")
            return bool(conn.response[0]["attributes"].get("pwdAccountLockedTime"))

    def unlock(self, name: str) -> None:
        with self._admin() as conn:
            # REPLACE with no values removes it and, unlike DELETE, is fine when it is absent.
            change: Changes = {"pwdAccountLockedTime": [(MODIFY_REPLACE, [])]}
            check(conn, conn.modify(self.dn(name), change), f"unlock {name}")

    def failed_logons(self, name: str) -> int:
        """Failed binds the directory counts toward its lockout (pwdFailureTime values)."""
        with self._admin() as conn:
            conn.search(self.dn(name), "(objectClass=*)", "BASE", attributes=["pwdFailureTime"])
            return len(conn.response[0]["attributes"].get("pwdFailureTime") or [])

    def must_change(self, name: str) -> bool:
        """Whether the next sign-in must change the password (pwdReset)."""
        with self._admin() as conn:
            conn.search(self.dn(name), "(objectClass=*)", "BASE", attributes=["pwdReset"])
            value = conn.response[0]["attributes"].get("pwdReset") or []
            return [str(v).upper() for v in value] == ["TRUE"]

    def create_group(self, name: str, members: list[str]) -> str:
        """A groupOfNames under ou=Groups; members are user names or earlier group names."""
        with self._admin() as conn:
            groups = f"ou=Groups,{self.lab.base_dn}"
            conn.add(groups, ["organizationalUnit"], {"ou": "Groups"})  # may exist already
            dns = [self._member_dn(conn, m) for m in members]
            dn = f"cn={escape_rdn(name)},{groups}"
            check(
                conn, conn.add(dn, ["groupOfNames"], {"cn": name, "member": dns}), f"group {name}"
            )
        return dn

    def _member_dn(self, conn: Connection, name: str) -> str:
        group = f"cn={escape_rdn(name)},ou=Groups,{self.lab.base_dn}"
        if conn.search(group, "(objectClass=groupOfNames)", "BASE", attributes=[]):
            return group
        return self.dn(name)

    def set_never_expires(self, name: str) -> None:
        """Give the user a policy of its own whose passwords never expire (pwdMaxAge 0):
        ppolicy's counterpart of AD's DONT_EXPIRE_PASSWORD."""
        policy = f"cn=never-expires,ou=Policies,{self.lab.base_dn}"
        attrs = {"cn": "never-expires", "pwdAttribute": "userPassword", "pwdMaxAge": "0"}
        relax = [("1.3.6.1.4.1.4203.666.5.12", True, None)]
        change: Changes = {"pwdPolicySubentry": [(MODIFY_REPLACE, [policy])]}
        with self._admin() as conn:
            conn.add(policy, ["device", "pwdPolicy"], attrs)  # may exist already
            done = conn.modify(self.dn(name), change, controls=relax)
            check(conn, done, f"never-expires {name}")

    def expire_password(self, name: str) -> None:
        """Make the password expired: pwdChangedTime is NO-USER-MODIFICATION, so the rootdn
        sets it with the Relax control (pwdMaxAge is 90 days in the lab policy)."""
        relax = [("1.3.6.1.4.1.4203.666.5.12", True, None)]
        change: Changes = {"pwdChangedTime": [(MODIFY_REPLACE, ["20200101000000Z"])]}
        with self._admin() as conn:
            check(conn, conn.modify(self.dn(name), change, controls=relax), f"expire {name}")

    def delete_user(self, name: str) -> None:
        with self._admin() as conn:
            check(conn, conn.delete(self.dn(name)), f"delete {name}")
