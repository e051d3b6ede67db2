"""What the daily rounds that message users (expiry notices, enrollment reminders) share:
sending each planned message by its channels and counting the outcome, the deep link to a
page of the user's site, and the claim of a message in the keyed records that lets servers
sharing a store send it once."""

from __future__ import annotations

import abc
import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar
from urllib.parse import urlencode

from pwreset.config.drive_settings import EnrollmentDriveSettings
from pwreset.config.expiry_settings import ExpiryNoticeSettings, NoticeChannel
from pwreset.config.schema import Config, DomainConfig
from pwreset.server.directory import Directory, DirectoryError
from pwreset.server.flows.codes import SendLimits
from pwreset.server.notify import Notifier, NotifyError, Recipient
from pwreset.server.notify.recipients import expand_recipients
from pwreset.server.storage.store import AuditTrail, KeyedRecords, Users

Doc = dict[str, Any]


class Message(Protocol):
    """One planned message to a user (a Notice, a Reminder)."""

    @property
    def username(self) -> str: ...
    @property
    def domain(self) -> str: ...
    @property
    def recipient(self) -> Recipient: ...


M = TypeVar("M", bound=Message)
C = TypeVar("C")  # what the directory says of a user the round looks at


@dataclass
class RoundReport(Generic[M]):
    due: list[M] = field(default_factory=list)
    sent: int = 0
    failed: int = 0
    unreachable: list[str] = field(default_factory=list)  # domains that did not answer


class MessageRound(abc.ABC, Generic[M, C]):
    """A round that plans messages to users (`plan`: the candidates each domain's directory
    gives, each checked by `_due`) and sends them (`send`); a dry run only plans."""

    what: str  # "expiry notices": the log's name for the round
    log: logging.Logger
    table: str  # the round's settings in the configuration: "expiry_notices"
    settings: ExpiryNoticeSettings | EnrollmentDriveSettings

    def __init__(
        self,
        config: Config,
        directories: Mapping[str, Directory],
        users: Users,
        keyed: KeyedRecords,
        limits: SendLimits,
    ) -> None:
        self.config = config
        self.settings = getattr(config, self.table)
        self.directories = directories
        self.users = users
        self.keyed = keyed
        self.limits = limits

    def plan(
        self, now: float, progress: Callable[[str, int], None] | None = None
    ) -> RoundReport[M]:
        """The messages due at `now`; a domain that does not answer is skipped (logged).
        `progress` is called with (domain, users looked at so far), for progress bars."""
        report: RoundReport[M] = RoundReport()
        for domain in self.config.domains:
            directory = self.directories.get(domain.name)
            if directory is None:
                continue
            seen = None if progress is None else functools.partial(progress, domain.name)
            if seen is not None:
                seen(0)
            try:
                candidates = self._candidates(directory, now, seen)
            except DirectoryError as exc:
                self.log.error("%s: domain %s not read (%s)", self.what, domain.name, exc.code)
                report.unreachable.append(domain.name)
                continue
            for candidate in candidates:
                message = self._due(domain, candidate, now)
                if message is not None:
                    report.due.append(message)
        return report

    @abc.abstractmethod
    def _candidates(
        self, directory: Directory, now: float, seen: Callable[[int], None] | None
    ) -> Sequence[C]:
        """The users of `directory` the round looks at (`seen` counts them as they are
        read). Raises DirectoryError."""

    @abc.abstractmethod
    def _due(self, domain: DomainConfig, candidate: C, now: float) -> M | None:
        """The message due to `candidate` at `now`, if any."""

    def send(
        self, report: RoundReport[M], notifier: Notifier, audit: AuditTrail, now: float
    ) -> RoundReport[M]:
        """Send each planned message, record it for its user, audit it."""
        for message in report.due:
            outcome = self._send_one(message, notifier, audit, now)
            if outcome is not None:
                report.sent += outcome
                report.failed += not outcome
        self.log.info(
            "%s: %d due, %d sent, %d not sent, %d domain(s) not read",
            self.what,
            len(report.due),
            report.sent,
            report.failed,
            len(report.unreachable),
        )
        return report

    def destinations(self, message: M) -> list[str]:
        """Where `message` would go (the dry run's listing): addresses, then the phone."""
        shown = []
        if "email" in self.settings.channels:
            shown += expand_recipients(self.settings.to, message.recipient)
        if "sms" in self.settings.channels and message.recipient.phone:
            shown.append(message.recipient.phone.strip())
        return shown

    def _deliver(
        self, message: M, send: Callable[[NoticeChannel, Recipient], int]
    ) -> tuple[list[str], list[str]]:
        """Send `message` by each channel: what went where ("email to 1") and what did not
        ("sms not sent (notify_bad_phone)"), for the audit row."""
        sent: list[str] = []
        failed: list[str] = []
        for channel in self.settings.channels:
            try:
                count = send(channel, message.recipient)
            except NotifyError as exc:
                self.log.warning("%s (%s) for %s@%s not sent: %s", self.what, channel,
                                 message.username, message.domain, exc)  # fmt: skip
                failed.append(f"{channel} not sent ({exc.code})")
            else:
                sent.append(f"{channel} to {count}")
        return sent, failed

    @abc.abstractmethod
    def _send_one(
        self, message: M, notifier: Notifier, audit: AuditTrail, now: float
    ) -> bool | None:
        """True when sent, False when no channel took it, None when it was not to be sent
        after all (another server sharing the store sent it first)."""


def addressed(config: Config, vdir: str, page: str, domain: str, username: str,
              language: str, *, email: str, phone: str,
              enrolled_email: str = "") -> tuple[Recipient, str]:  # fmt: skip
    """Where a message to `username` goes (the directory's address and phone, the enrolled
    address), and the deep link to `page` of their site, both in `language`."""
    recipient = Recipient(
        username=username,
        domain=domain,
        directory_email=email,
        enrolled_email=enrolled_email,
        phone=phone,
        language=language,
    )
    return recipient, site_page_url(config, vdir, page, domain, username, language)


def site_page_url(config: Config, vdir: str, page: str, domain: str, username: str,
                  language: str) -> str:  # fmt: skip
    """`page` of the site `vdir` in `language` when the site is built in it, with the
    account filled in (the pages' ?username=&domain= deep link)."""
    site = config.sites[vdir]
    wanted = language.casefold()
    folder = next(
        (
            tag
            for tag in site.languages
            if tag != site.language and wanted in (tag.casefold(), tag.split("-")[0].casefold())
        ),
        "",
    )
    path = f"{folder}/{page}" if folder else page
    query = urlencode({"username": username, "domain": domain, "lang": language})
    return f"{config.web.public_url}/{vdir}/{path}?{query}"


class Claim:
    """A message claimed under the keyed records' lock (which a shared store holds across
    servers) before it is sent, so two servers never both send it; released (the record as
    it was) when no channel took it, so the next round tries again."""

    def __init__(self, keyed: KeyedRecords, key: str) -> None:
        self.keyed = keyed
        self.key = key
        self.before: Doc | None = None

    def take(self, taken: Callable[[Doc | None], bool], doc: Doc) -> bool:
        """Store `doc` unless `taken(record now)` says another server sent it first."""
        with self.keyed.locked():
            self.before = self.keyed.get(self.key)
            if taken(self.before):
                return False
            self.keyed.put(self.key, doc)
        return True

    def release(self) -> None:
        with self.keyed.locked():
            if self.before is None:
                self.keyed.delete(self.key)
            else:
                self.keyed.put(self.key, self.before)
