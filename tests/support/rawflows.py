"""The baseline of the load bench: the same users' flows as bare ldap3 operations, without
pwreset's flows (connections come from the backend's own Connector, as they would in it).

Each operation does the least directory work with the same effect, on a new TLS connection
as the service account (as pwreset opens one per directory call): enroll = find the user
and bind as them; reset = find and Password Modify as the service; unlock = find and clear
pwdAccountLockedTime; change = find, bind as the user and Password Modify with the old
password. No answers are hashed or checked, nothing is stored or audited, nothing sealed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager

from ldap3 import MODIFY_REPLACE, Connection
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars
from pwreset_lab import SlapdLab
from pwreset_lab.errors import LabError

from pwreset.server.directory import DirectoryError, ppolicy

from support.simusers import OPS, Attempt, Results, SimUser


class RawFlows:
    def __init__(self, lab: SlapdLab, lock: Callable[[str], None]) -> None:
        self._lab = lab
        # One connector, as the backend keeps one per domain; each call opens a connection.
        self._connector = lab.connector(lab.service_dn, lab.service_password)
        self._lock = lock

    def run(self, users: list[SimUser], duration: float, warmup: float = 0.0) -> Results:
        """One thread per user, each cycling through the operations for `duration` s."""
        results = Results()
        guard = threading.Lock()
        started = time.monotonic()
        deadline = started + duration

        def user_loop(user: SimUser) -> None:
            while time.monotonic() < deadline:
                for op in OPS:
                    t0 = time.perf_counter()
                    try:
                        if op == "unlock":
                            self._lock(user.name)
                            t0 = time.perf_counter()
                        getattr(self, f"_{op}")(user)
                    except (LDAPException, LabError, DirectoryError) as exc:
                        # The user's password is unknown from here: this user stops.
                        with guard:
                            failed = Attempt(user.name, op, time.time(), outcome="error")
                            failed.detail = f"{op}: {type(exc).__name__}: {exc}"
                            results.attempts.append(failed)
                        return
                    took = time.perf_counter() - t0
                    if time.monotonic() - started >= warmup:
                        with guard:
                            results.time(op, took)
                            results.acknowledged[op] = results.acknowledged.get(op, 0) + 1

        with ThreadPoolExecutor(len(users)) as pool:
            for future in [pool.submit(user_loop, u) for u in users]:
                future.result()
        return results

    # --- the operations -----------------------------------------------------------------------

    def _find(self, svc: Connection, name: str) -> str:
        flt = f"(&(objectClass=inetOrgPerson)(uid={escape_filter_chars(name)}))"
        svc.search(self._lab.people_dn, flt, attributes=["uid", "pwdAccountLockedTime"])
        entries = [e for e in svc.response or [] if e.get("type") == "searchResEntry"]
        assert len(entries) == 1, f"{name}: {len(entries)} entries"
        return str(entries[0]["dn"])

    def _user_session(self, dn: str, password: str) -> AbstractContextManager[Connection]:
        return self._connector.user_session(dn, password, [ppolicy.REQUEST])

    def _enroll(self, user: SimUser) -> None:
        with self._connector.session() as svc:
            dn = self._find(svc, user.name)
            with self._user_session(dn, user.password) as conn:
                assert conn.bound, conn.result

    def _reset(self, user: SimUser) -> None:
        new = user.next_password()
        with self._connector.session() as svc:
            dn = self._find(svc, user.name)
            svc.extend.standard.modify_password(user=dn, new_password=new)
            assert svc.result["result"] == 0, svc.result
        user.password = new

    def _unlock(self, user: SimUser) -> None:
        with self._connector.session() as svc:
            dn = self._find(svc, user.name)
            assert svc.modify(dn, {"pwdAccountLockedTime": [(MODIFY_REPLACE, [])]}), svc.result

    def _change(self, user: SimUser) -> None:
        new = user.next_password()
        with self._connector.session() as svc:
            dn = self._find(svc, user.name)
            with self._user_session(dn, user.password) as conn:
                assert conn.bound, conn.result
                conn.extend.standard.modify_password(
                    user=dn, old_password=user.password, new_password=new
                )
                assert conn.result["result"] == 0, conn.result
        user.password = new
