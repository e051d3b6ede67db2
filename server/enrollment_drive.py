"""The enrollment drive: the daily round that reminds users who have not enrolled.

In scope are the users each domain's search finds (base_dn, user filter) whom the enroll
permission lets enroll, who are not disabled and have not enrolled. Each gets a reminder
every `every_days` days, at most `max_reminders` times; enrolling stops them. What was sent
is a keyed record under the keyed hash of the user (no name in clear): how many reminders
and when the last went out. It is kept for a year after the last reminder (its `touched`),
so a user still not enrolled by then is reminded again from the start.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pwreset.config.drive_settings import EnrollmentDriveSettings
from pwreset.config.schema import Config, DomainConfig
from pwreset.server.directory import Directory
from pwreset.server.directory.base import DirectoryUser
from pwreset.server.flows.context import permitted
from pwreset.server.notify import Notifier, Recipient
from pwreset.server.storage.audit import AuditEvent
from pwreset.server.storage.store import AuditTrail, Users
from pwreset.server.user_messages import Claim, MessageRound, RoundReport, addressed

log = logging.getLogger("pwreset.server.reminders")

DAY = 86400.0
AUDIT_SOURCE = "reminder"
_KEY_PREFIX = "drive:"
_KEPT = 365 * DAY
# A round starts a little later each day (it reads the directory first): a reminder due
# every N days still goes out in the round N days after the last.
_SLACK = 3600.0

# Called with the users looked at so far while a domain is read; for progress bars.
Seen = Callable[[int], None]


@dataclass(frozen=True)
class Reminder:
    """One reminder due: who, which one (1 to max_reminders), in which language, where."""

    domain: str
    username: str
    number: int
    language: str
    recipient: Recipient
    enroll_url: str


DriveReport = RoundReport[Reminder]


def not_enrolled(
    config: Config, directory: Directory, users: Users, seen: Seen | None = None
) -> list[DirectoryUser]:
    """The users of `directory` in the drive's scope who have not enrolled: enabled, let
    in by the enroll permission, without enrolled questions (`seen` is called with the
    users looked at so far). Raises DirectoryError."""
    found = []
    rule = config.enroll.permission
    for user in directory.users(seen):
        if user.disabled or not user.username:
            continue
        record = users.get(directory.name, user.username)
        if record is not None and record.enrollment is not None:
            continue
        # Last: a group rule costs a directory look-up per user.
        if permitted(directory, user, rule):
            found.append(user)
    return found


class EnrollmentDrive(MessageRound[Reminder, DirectoryUser]):
    """Finds the reminders due (`plan`) and sends them (`send`); a dry run only plans."""

    what = "enrollment drive"
    settings: EnrollmentDriveSettings
    log = log
    table = "enrollment_drive"

    def _candidates(
        self, directory: Directory, now: float, seen: Seen | None
    ) -> list[DirectoryUser]:
        return not_enrolled(self.config, directory, self.users, seen)

    def _due(self, domain: DomainConfig, user: DirectoryUser, now: float) -> Reminder | None:
        number = self._next_number(self.keyed.get(self._key(domain.name, user)), now)
        return None if number is None else self._reminder(domain, user, number)

    # --- one user -----------------------------------------------------------------------------

    def _key(self, domain: str, user: DirectoryUser | str) -> str:
        name = user if isinstance(user, str) else user.username
        return _KEY_PREFIX + self.limits.user_id(domain, name)

    def _next_number(self, sent: dict[str, Any] | None, now: float) -> int | None:
        """The number of the reminder due at `now` after `sent`, or None."""
        if sent is None:
            return 1
        count = int(sent.get("n", 0))
        if count >= self.settings.max_reminders:
            return None
        if now - float(sent.get("last", 0.0)) < self.settings.every_days * DAY - _SLACK:
            return None
        return count + 1

    def _reminder(self, domain: DomainConfig, user: DirectoryUser, number: int) -> Reminder:
        vdir = self.config.enroll_site(domain) or ""
        site = self.config.sites[vdir]
        # preferredLanguage is RFC 2798's Accept-Language list: its first language counts.
        preferred = user.language.split(",")[0].split(";")[0].strip()
        language = preferred or self.settings.language or site.language
        recipient, url = addressed(self.config, vdir, "enroll.html", domain.name, user.username,
                                   language, email=user.email, phone=user.phone)  # fmt: skip
        return Reminder(domain.name, user.username, number, language, recipient, url)

    def _send_one(
        self, reminder: Reminder, notifier: Notifier, audit: AuditTrail, now: float
    ) -> bool | None:
        """True when sent, False when no channel took it, None when another server (sharing
        the store) sent it first or the user enrolled meanwhile."""
        record = self.users.get(reminder.domain, reminder.username)
        if record is not None and record.enrollment is not None:
            return None
        claim = Claim(self.keyed, self._key(reminder.domain, reminder.username))
        doc = {"n": reminder.number, "last": now, "touched": now + _KEPT}
        if not claim.take(lambda before: self._next_number(before, now) != reminder.number, doc):
            return None
        maximum = self.settings.max_reminders
        values = {"[ENROLL_URL]": reminder.enroll_url, "[REMINDER]": str(reminder.number),
                  "[REMINDERS]": str(maximum)}  # fmt: skip
        sent, failed = self._deliver(
            reminder, lambda channel, to: notifier.enrollment_reminder(channel, to, values)
        )
        if not sent:
            claim.release()  # tried again in the next round
        audit.append(
            AuditEvent(
                "success" if sent else "failure",
                AUDIT_SOURCE,
                reminder.username,
                reminder.domain,
                f"enrollment reminder {reminder.number} of {maximum}: " + ", ".join(sent + failed),
                time=now,
            )
        )
        return bool(sent)
