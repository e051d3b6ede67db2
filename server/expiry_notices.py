"""Password expiry notices: the daily round that warns users before their password expires.

Each domain names the users whose password expires within the largest threshold; a user
who has reached a threshold not yet notified for this password gets the notice, by e-mail
and/or SMS, in their language. What was sent is a keyed record (under the keyed hash of the
user) holding the password's last-set time, so a new password starts over; it is kept until
two days after that password expires (its `touched`), when the housekeeping drops it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from babel.core import Locale, UnknownLocaleError
from babel.dates import format_date, format_timedelta

from pwreset.config.expiry_settings import ExpiryNoticeSettings
from pwreset.config.schema import DomainConfig
from pwreset.server.directory import Directory
from pwreset.server.directory.base import PasswordExpiry
from pwreset.server.notify import Notifier, Recipient
from pwreset.server.storage.audit import AuditEvent
from pwreset.server.storage.store import AuditTrail
from pwreset.server.user_messages import Claim, MessageRound, RoundReport, addressed

log = logging.getLogger("pwreset.server.notices")

DAY = 86400.0
AUDIT_SOURCE = "notice"
_KEY_PREFIX = "expiry:"
_FALLBACK_LOCALE = "en"


@dataclass(frozen=True)
class Notice:
    """One notice due: who, which threshold, by which channels and in which language."""

    domain: str
    username: str
    threshold: int
    days_left: int
    expires: float
    password_set: float
    language: str
    recipient: Recipient
    change_url: str


NoticeReport = RoundReport[Notice]


class NoticeRound(MessageRound[Notice, PasswordExpiry]):
    """Finds the notices due (`plan`) and sends them (`send`); a dry run only plans."""

    what = "expiry notices"
    settings: ExpiryNoticeSettings
    log = log
    table = "expiry_notices"

    def _candidates(
        self, directory: Directory, now: float, seen: Callable[[int], None] | None
    ) -> list[PasswordExpiry]:
        return directory.password_expiries(now + max(self.settings.days) * DAY, seen)

    # --- one user -----------------------------------------------------------------------------

    def _key(self, domain: str, username: str) -> str:
        return _KEY_PREFIX + self.limits.user_id(domain, username)

    def _due(self, domain: DomainConfig, entry: PasswordExpiry, now: float) -> Notice | None:
        days_left = math.ceil((entry.expires - now) / DAY)
        threshold = self.settings.threshold(days_left)
        if threshold is None:
            return None
        sent = self.keyed.get(self._key(domain.name, entry.username))
        if _sent_before(sent, entry.password_set, threshold):
            return None
        record = self.users.get(domain.name, entry.username)
        vdir = self.config.change_site(domain) or ""
        site = self.config.sites.get(vdir)
        site_language = site.language if site is not None else _FALLBACK_LOCALE
        language = (record.language if record is not None else "") or site_language
        enrolled = record.email if record is not None else ""
        recipient, url = addressed(self.config, vdir, "change.html", domain.name, entry.username,
                                   language, email=entry.email, phone=entry.phone,
                                   enrolled_email=enrolled)  # fmt: skip
        return Notice(domain.name, entry.username, threshold, days_left, entry.expires,
                      entry.password_set, language, recipient, url)  # fmt: skip

    def _send_one(
        self, notice: Notice, notifier: Notifier, audit: AuditTrail, now: float
    ) -> bool | None:
        """True when sent, False when no channel took it, None when another server (sharing
        the store) sent it first."""
        key = self._key(notice.domain, notice.username)
        # Claimed before it is sent, under the keyed records' lock (which a shared store holds
        # across servers): two servers never both send it. Kept until two days after the
        # password expires (the housekeeping's keyed expiry).
        claim = {"set": notice.password_set, "sent": notice.threshold,
                 "touched": max(notice.expires, now)}  # fmt: skip
        claimed = Claim(self.keyed, key)
        if not claimed.take(lambda doc: _sent_before(doc, notice.password_set, notice.threshold),
                            claim):  # fmt: skip
            return None
        values = _macros(notice)
        sent, failed = self._deliver(
            notice, lambda channel, to: notifier.expiry_notice(channel, to, values)
        )
        if not sent:
            # Tried again in the next round.
            claimed.release()
        expires = datetime.fromtimestamp(notice.expires).strftime("%Y-%m-%d")
        audit.append(
            AuditEvent(
                "success" if sent else "failure",
                AUDIT_SOURCE,
                notice.username,
                notice.domain,
                f"password expiry notice ({notice.threshold} days): expires {expires}, "
                + ", ".join(sent + failed),
                time=now,
            )
        )
        return bool(sent)


def _sent_before(doc: dict[str, Any] | None, password_set: float, threshold: int) -> bool:
    """Whether `threshold`, or a later one, was sent for this password."""
    return (
        doc is not None and doc.get("set") == password_set and int(doc.get("sent", 0)) <= threshold
    )


def _macros(notice: Notice) -> dict[str, str]:
    locale = _locale(notice.language)
    when = datetime.fromtimestamp(notice.expires)
    left = format_timedelta(timedelta(days=notice.days_left), granularity="day",
                            threshold=10**6, add_direction=True, locale=locale)  # fmt: skip
    return {
        "[DAYS_LEFT]": str(notice.days_left),
        "[TIME_LEFT]": left,
        "[EXPIRY_DATE]": format_date(when.date(), format="long", locale=locale),
        "[CHANGE_URL]": notice.change_url,
    }


def _locale(language: str) -> Locale:
    try:
        return Locale.parse(language.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse(_FALLBACK_LOCALE)


def next_round(now: float, hour: int) -> float:
    """The next time, after `now`, that the server's local clock shows `hour`:00."""
    moment = datetime.fromtimestamp(now)
    due = moment.replace(hour=hour, minute=0, second=0, microsecond=0)
    if due.timestamp() <= now:
        due += timedelta(days=1)
    return due.timestamp()
