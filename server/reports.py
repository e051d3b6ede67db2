"""The admins' reports: not enrolled, expiring soon, locked out now, self-service activity
and failed attempts by address, as rows with columns, and those rows as CSV or HTML.

They live in the server, not the Data Console: three of them read the directory through
the server's adapters, and the server mails them on a schedule (`ReportMail`). The
command line (`pwreset report`) and the console's exports render them with the same code.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pwreset.config.report_settings import WEEKDAYS
from pwreset.config.schema import Config
from pwreset.server.directory import Directory, DirectoryError
from pwreset.server.directory.base import DirectoryUser
from pwreset.server.enrollment_drive import not_enrolled
from pwreset.server.expiry_notices import next_round
from pwreset.server.notify import Notifier, NotifyError
from pwreset.server.report_files import csv_bytes, html_bytes
from pwreset.server.storage.audit import AuditEvent
from pwreset.server.storage.query import Column
from pwreset.server.storage.store import AuditTrail, Users

log = logging.getLogger("pwreset.server.reports")

DAY = 86400.0
AUDIT_SOURCE = "report"

_FLOWS = ("enroll", "reset", "unlock", "change")


@dataclass
class Report:
    """One report as run: its rows, the columns shown, and the domains that did not
    answer (the rows then leave them out, which the report says)."""

    name: str
    title: str
    columns: Sequence[Column]
    rows: list[dict[str, Any]] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Scope:
    """What the admin narrowed a report down to: a domain, a container (a DN the user's
    DN ends with), a group (nested membership counts), the days looked back or ahead."""

    domain: str = ""
    ou: str = ""
    group: str = ""
    days: int = 7


class Reports:
    """Runs the reports over the domains' directories and the store."""

    def __init__(
        self,
        config: Config,
        directories: Mapping[str, Directory],
        users: Users,
        audit: AuditTrail,
    ) -> None:
        self.config = config
        self.directories = directories
        self.users = users
        self.audit = audit

    def run(self, name: str, scope: Scope, now: float) -> Report:
        run: Callable[[Scope, float], Report] = {
            "not-enrolled": self.not_enrolled,
            "expiring": self.expiring,
            "locked": self.locked,
            "activity": self.activity,
            "failed-by-address": self.failed_by_address,
        }[name]
        return run(scope, now)

    # --- from the directory -------------------------------------------------------------------

    def not_enrolled(self, scope: Scope, now: float) -> Report:
        """The users the enrollment drive reminds: enabled, let in by the enroll permission,
        not enrolled."""
        report = Report("not-enrolled", "Users not enrolled", _USER_COLUMNS)
        for directory, found in self._each_domain(
            scope, report, lambda d: not_enrolled(self.config, d, self.users)
        ):
            report.rows += [_user_row(directory, u) for u in self._narrow(directory, found, scope)]
        return report

    def expiring(self, scope: Scope, now: float) -> Report:
        """Passwords that expire within `scope.days` days."""
        columns = (*_USER_COLUMNS, Column("expires", "Expires", "time"),
                   Column("days_left", "Days Left", "number"))  # fmt: skip
        report = Report("expiring", f"Passwords expiring within {scope.days} days", columns)
        until = now + scope.days * DAY
        for directory, found in self._each_domain(
            scope, report, lambda d: d.password_expiries(until)
        ):
            wanted = {e.username.casefold() for e in found}
            by_name = {
                u.username.casefold(): u
                for u in self._narrow(directory, directory.users(), scope)
                if u.username.casefold() in wanted
            }
            for entry in sorted(found, key=lambda e: e.expires):
                user = by_name.get(entry.username.casefold())
                if user is not None and entry.expires > now:
                    row = _user_row(directory, user)
                    row.update(expires=entry.expires, days_left=int((entry.expires - now) // DAY))
                    report.rows.append(row)
        return report

    def locked(self, scope: Scope, now: float) -> Report:
        """Users the directory holds locked out now (AD's lockout, ppolicy's
        pwdAccountLockedTime), with pwreset's own lockout of the same user beside it."""
        columns = (*_USER_COLUMNS, Column("pwreset_locked", "Locked in pwreset", "bool"))
        report = Report("locked", "Users locked out in the directory", columns)
        for directory, found in self._each_domain(scope, report, lambda d: d.users()):
            for user in self._narrow(directory, found, scope):
                if user.locked and not user.disabled:
                    record = self.users.get(directory.name, user.username)
                    row = _user_row(directory, user)
                    row["pwreset_locked"] = bool(record is not None and record.locked_out)
                    report.rows.append(row)
        return report

    def _each_domain(
        self, scope: Scope, report: Report, read: Callable[[Directory], Any]
    ) -> Iterable[tuple[Directory, Any]]:
        for domain in self.config.domains:
            if scope.domain and not domain.matches(scope.domain):
                continue
            directory = self.directories.get(domain.name)
            if directory is None:
                continue
            try:
                found = read(directory)
            except DirectoryError as exc:
                log.error("report %s: domain %s not read (%s)", report.name, domain.name, exc.code)
                report.unreachable.append(domain.name)
                continue
            yield directory, found

    @staticmethod
    def _narrow(
        directory: Directory, users: Iterable[DirectoryUser], scope: Scope
    ) -> list[DirectoryUser]:
        ou = scope.ou.replace(" ", "").casefold()
        picked = [u for u in users if not ou or u.dn.replace(" ", "").casefold().endswith(ou)]
        if scope.group:
            picked = [u for u in picked if directory.is_member(u, [scope.group])]
        return sorted(picked, key=lambda u: u.username.casefold())

    # --- from the audit log -------------------------------------------------------------------

    def activity(self, scope: Scope, now: float) -> Report:
        """Self-service outcomes of the last `scope.days` days per site and domain and flow.
        An audit row names its domain, not the site it came through: a domain is counted
        under every site that serves it (exact when each domain has one site)."""
        columns = (Column("site", "Site"), Column("domain", "Domain"), Column("flow", "Flow"),
                   Column("success", "Succeeded", "number"),
                   Column("failure", "Failed", "number"))  # fmt: skip
        report = Report("activity", f"Self-service activity, last {scope.days} days", columns)
        counts: Counter[tuple[str, str, str]] = Counter()
        for event in self._events(scope, now):
            if event.source in _FLOWS and event.type in ("success", "failure"):
                counts[(event.domain, event.source, event.type)] += 1
        for domain in self.config.domains:
            if scope.domain and not domain.matches(scope.domain):
                continue
            sites = [
                vdir
                for vdir, site in self.config.sites.items()
                if not site.domains or any(domain.matches(typed) for typed in site.domains)
            ]
            for flow in _FLOWS:
                done = counts[(domain.name, flow, "success")]
                failed = counts[(domain.name, flow, "failure")]
                if done or failed:
                    report.rows += [{"site": vdir, "domain": domain.name, "flow": flow,
                                     "success": done, "failure": failed}
                                    for vdir in sites or [""]]  # fmt: skip
        return report

    def failed_by_address(self, scope: Scope, now: float) -> Report:
        """Failed self-service attempts of the last `scope.days` days per client address,
        most first: how many, against how many accounts, when the last was."""
        columns = (Column("ip", "Address"), Column("failures", "Failures", "number"),
                   Column("accounts", "Accounts", "number"),
                   Column("last", "Last Failure", "time"))  # fmt: skip
        title = f"Failed attempts by address, last {scope.days} days"
        report = Report("failed-by-address", title, columns)
        failures: Counter[str] = Counter()
        accounts: defaultdict[str, set[tuple[str, str]]] = defaultdict(set)
        last: dict[str, float] = {}
        for event in self._events(scope, now):
            if event.type != "failure" or event.source not in _FLOWS or not event.ip:
                continue
            failures[event.ip] += 1
            accounts[event.ip].add((event.domain.casefold(), event.user.casefold()))
            last[event.ip] = max(last.get(event.ip, 0.0), event.time)
        report.rows = [
            {"ip": ip, "failures": count, "accounts": len(accounts[ip]), "last": last[ip]}
            for ip, count in sorted(failures.items(), key=lambda item: (-item[1], item[0]))
        ]
        return report

    def _events(self, scope: Scope, now: float) -> Iterable[AuditEvent]:
        for event in self.audit.query(since=now - scope.days * DAY, until=now + 1):
            if not scope.domain or event.domain.casefold() == scope.domain.casefold():
                yield event


_USER_COLUMNS = (
    Column("username", "User"),
    Column("domain", "Domain"),
    Column("email", "E-mail"),
    Column("dn", "Distinguished Name"),
)


def _user_row(directory: Directory, user: DirectoryUser) -> dict[str, Any]:
    return {"username": user.username, "domain": directory.name, "email": user.email,
            "dn": user.dn}  # fmt: skip


class ReportMail:
    """`[report_mail]`: the configured reports, run and mailed to the admins as files, with
    one audit row (source `report`) saying what went to how many."""

    def __init__(self, reports: Reports) -> None:
        self.reports = reports
        self.settings = reports.config.report_mail

    def send(self, notifier: Notifier, audit: AuditTrail, now: float) -> bool:
        settings = self.settings
        scope = Scope(days=settings.days)
        day = datetime.fromtimestamp(now).strftime("%Y-%m-%d")
        files: list[tuple[str, bytes]] = []
        lines = []
        for name in settings.reports:
            report = self.reports.run(name, scope, now)
            files += [(f"{name}-{day}.{fmt}", rendered(report, fmt, now))
                      for fmt in settings.attach]  # fmt: skip
            note = unreachable_note(report)
            lines.append(
                f"- {report.title}: {len(report.rows)} rows" + (f" ({note})" if note else "")
            )
        body = "The pwreset reports of " + day + ", attached:\n\n" + "\n".join(lines) + "\n"
        try:
            notifier.report_mail(settings.to, f"pwreset reports {day}", body, files)
        except NotifyError as exc:
            outcome, what = "failure", f"not sent ({exc.code})"
        else:
            outcome, what = "success", f"to {len(settings.to)} address(es)"
        event = f"report mail ({', '.join(settings.reports)}): {what}"
        audit.append(AuditEvent(outcome, AUDIT_SOURCE, "", "", event, time=now))
        (log.info if outcome == "success" else log.error)("%s", event)
        return outcome == "success"


def next_report_round(now: float, hour: int, weekday: str) -> float:
    """The next `hour`:00 after `now` (server's local time), on `weekday` when one is set."""
    due = next_round(now, hour)
    if weekday:
        wanted = WEEKDAYS.index(weekday)
        while datetime.fromtimestamp(due).weekday() != wanted:
            due = next_round(due, hour)
    return due


def rendered(report: Report, fmt: str, now: float) -> bytes:
    """`report` as CSV or HTML, the HTML titled with when it was run."""
    if fmt == "csv":
        return csv_bytes(report.columns, report.rows)
    when = datetime.fromtimestamp(now).strftime("%Y-%m-%d %H:%M")
    return html_bytes(report.columns, report.rows, f"{report.title} ({when})",
                      unreachable_note(report))  # fmt: skip


def unreachable_note(report: Report) -> str:
    if not report.unreachable:
        return ""
    return "Not included (the directory did not answer): " + ", ".join(report.unreachable)
