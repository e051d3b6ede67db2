"""Kill -9 of `pwreset server` while simulated users walk flows over HTTP, then restart it
and check what was kept (issue 9, "Crash"); used by the suite and by bench/crash.py.

After each round, for every user:
- each acknowledged operation is in the database (its `last_*` time is at least when it
  was sent) and in the audit log: the audit's success rows per user and operation equal,
  over all rounds, the operations known to be done (so none is lost and none doubled);
- the one operation whose reply never came either completed (directory, database and
  audit all show it) or left no trace in any of them;
- while the server was down, the relay answered `server_unreachable` within its budget:
  no request hung and none failed otherwise.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field

from pwreset.server.flows.pending import RESTORED
from pwreset.server.storage import UserRecord

from support.loadstack import LoadStack
from support.simusers import AUDIT_DONE, Attempt, Simulation, SimUser

_LAST = {
    "enroll": "last_enroll",
    "reset": "last_reset",
    "unlock": "last_unlock",
    "change": "last_change",
}


@dataclass
class RoundReport:
    acknowledged: int = 0
    unreachable: int = 0  # answered server_unreachable (down, or too busy to answer in time)
    unknown_completed: int = 0  # no reply came, yet the operation was done
    unknown_not_done: int = 0
    lost: list[str] = field(default_factory=list)  # acknowledged but missing
    half_written: list[str] = field(default_factory=list)
    bad_replies: list[str] = field(default_factory=list)  # hangs and errors
    restart_seconds: float = 0.0


class CrashRounds:
    def __init__(self, stack: LoadStack, users: list[SimUser], *, request_timeout: float) -> None:
        self.stack = stack
        self.users = {u.name: u for u in users}
        self._timeout = request_timeout
        # (user, op) -> operations known done, over all rounds: what the audit must hold.
        self.expected: Counter[tuple[str, str]] = Counter()
        self.secrets: set[str] = {u.password for u in users}

    def run_round(self, kill_after: float) -> RoundReport:
        simulation = Simulation(
            self.stack.base_url, self.stack.domain, self.stack.lock, timeout=self._timeout
        )

        async def round_() -> None:
            async def killer() -> None:
                # Counted from the first acknowledged operation: a slow machine still has
                # some done before the kill.
                waited = 0.0
                while simulation.results.flows() == 0 and waited < 60:
                    await asyncio.sleep(0.05)
                    waited += 0.05
                await asyncio.sleep(kill_after)
                await asyncio.to_thread(self.stack.kill_server)

            kill = asyncio.create_task(killer())
            # Every user stops at its first failure; all of them fail once the server is gone.
            await simulation.run(list(self.users.values()), duration=3600)
            await kill

        asyncio.run(round_())
        self.secrets |= simulation.secrets
        started = time.monotonic()
        self.stack.start_server()
        report = RoundReport(restart_seconds=time.monotonic() - started)
        self._check(simulation.results.attempts, report)
        return report

    def _check(self, attempts: list[Attempt], report: RoundReport) -> None:
        records, audit = self.stack.stored()
        audited = Counter(
            (e.user, e.source)
            for e in audit
            if e.type == "success"
            and e.source in AUDIT_DONE
            and e.event.removesuffix(RESTORED) == AUDIT_DONE[e.source]
        )
        by_user: dict[str, list[Attempt]] = {}
        for attempt in attempts:
            by_user.setdefault(attempt.user, []).append(attempt)
        for name, tried in by_user.items():
            user = self.users[name]
            record = records.get(name)
            for attempt in tried:
                if attempt.outcome == "done":
                    report.acknowledged += 1
                    self.expected[(name, attempt.op)] += 1
                    if not _recorded(record, attempt):
                        report.lost.append(f"{name} {attempt.op}: not in the database")
                    if attempt.op in ("reset", "change"):
                        user.password = attempt.new_password or user.password
                    if attempt.op == "enroll":
                        user.enrolled = user.generation
                    continue
                if attempt.outcome == "unreachable":
                    report.unreachable += 1
                else:
                    report.bad_replies.append(f"{name} {attempt.op}: {attempt.detail}")
                if attempt.final:
                    self._resolve(user, attempt, record, audited, report)
            for op in AUDIT_DONE:
                if audited[(name, op)] < self.expected[(name, op)]:
                    report.lost.append(f"{name} {op}: not in the audit log")
                elif audited[(name, op)] > self.expected[(name, op)]:
                    report.half_written.append(f"{name} {op}: audited but not done")
            self._ready_for_next_round(user)

    def _resolve(
        self,
        user: SimUser,
        attempt: Attempt,
        record: UserRecord | None,
        audited: Counter[tuple[str, str]],
        report: RoundReport,
    ) -> None:
        """Whether the operation without a reply was done, and done everywhere."""
        admin = self.stack.admin
        in_audit = audited[(user.name, attempt.op)] > self.expected[(user.name, attempt.op)]
        in_db = _recorded(record, attempt)
        if attempt.op in ("reset", "change"):
            assert attempt.new_password is not None
            in_directory = admin.bind_ok(user.name, attempt.new_password)
            if in_directory:
                user.password = attempt.new_password
            elif not admin.bind_ok(user.name, user.password):
                report.lost.append(f"{user.name} {attempt.op}: neither password works")
        elif attempt.op == "unlock":
            in_directory = not admin.is_locked(user.name)
        else:
            in_directory = in_db  # enroll changes nothing in the directory
        if in_directory and in_db and in_audit:
            report.unknown_completed += 1
            self.expected[(user.name, attempt.op)] += 1
            if attempt.op == "enroll":
                user.enrolled = user.generation
        elif not (in_directory or in_db or in_audit):
            report.unknown_not_done += 1
        else:
            where = f"directory {in_directory}, database {in_db}, audit {in_audit}"
            report.half_written.append(f"{user.name} {attempt.op}: {where}")
            if in_audit:
                self.expected[(user.name, attempt.op)] += 1

    def _ready_for_next_round(self, user: SimUser) -> None:
        """Each round starts every user at enroll, unlocked, with a new generation."""
        if self.stack.admin.is_locked(user.name):
            self.stack.admin.unlock(user.name)
        user.generation += 1
        user.pending_password = None


def _recorded(record: UserRecord | None, attempt: Attempt) -> bool:
    """Whether the user's record shows the operation done after it was sent."""
    if record is None:
        return False
    when = getattr(record, _LAST[attempt.op])
    return when is not None and when >= attempt.started
