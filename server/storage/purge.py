"""The purge: users deleted from the directory are removed about a week later.

The first time a user is not found, the record is only marked (`missing_since`); it is
removed once it has been missing for the whole grace period, so a directory that is briefly
wrong (a restore, a replication lag) costs nothing. A user found again is unmarked. Their
audit history stays; the removal itself is audited.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pwreset.server.storage.audit import AuditEvent
from pwreset.server.storage.store import AuditTrail, Users

log = logging.getLogger("pwreset.storage")

# Whether (domain, username) still exists in the directory; None when this directory cannot
# say (a domain no longer configured): the user is kept. It raises when the directory does
# not answer, which stops the purge: "no answer" must never be taken for "gone".
UserExists = Callable[[str, str], bool | None]


@dataclass
class PurgeReport:
    checked: int = 0
    marked: list[tuple[str, str]] = field(default_factory=list)
    unmarked: list[tuple[str, str]] = field(default_factory=list)
    removed: list[tuple[str, str]] = field(default_factory=list)
    unknown: int = 0


def purge_missing(
    users: Users,
    audit: AuditTrail,
    exists: UserExists,
    *,
    grace_days: int = 7,
    now: float | None = None,
    by: str = "purge",
) -> PurgeReport:
    now = time.time() if now is None else now
    report = PurgeReport()
    for row in list(users.rows()):
        domain, username = row["domain"], row["username"]
        report.checked += 1
        found = exists(domain, username)
        missing_since = row["missing_since"]
        if found is None:
            report.unknown += 1
            continue
        if found:
            if missing_since is not None:
                _set_missing(users, domain, username, None)
                report.unmarked.append((domain, username))
            continue
        if missing_since is None:
            _set_missing(users, domain, username, now)
            report.marked.append((domain, username))
        elif now - missing_since >= grace_days * 86400:
            users.delete(domain, username)
            days = int((now - missing_since) // 86400)
            audit.append(
                AuditEvent(
                    "success",
                    "admin",
                    username,
                    domain,
                    f"user removed by the purge: missing from the directory for {days} days",
                    web_user=by,
                    time=now,
                )
            )
            report.removed.append((domain, username))
    log.info(
        "purge: %d checked, %d newly missing, %d found again, %d removed",
        report.checked,
        len(report.marked),
        len(report.unmarked),
        len(report.removed),
    )
    return report


def _set_missing(users: Users, domain: str, username: str, value: float | None) -> None:
    record = users.get(domain, username)
    if record is not None:
        record.missing_since = value
        users.save(record)
