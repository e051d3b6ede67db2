"""What every flow works with: the settings, directories, database and notifications it
shares with the others (`FlowContext`), and the request it serves (`Step`), which writes the
request's audit rows and queues its alerts."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum

from pwreset.config.flow_settings import Permission
from pwreset.config.schema import Config, SiteConfig
from pwreset.protocol.messages import Request
from pwreset.server.directory.base import Directory, DirectoryUser
from pwreset.server.flows.codes import SendLimits
from pwreset.server.flows.errors import FlowError
from pwreset.server.flows.lockout import DecoyStrikes
from pwreset.server.flows.questions import Decoys
from pwreset.server.flows.tokens import TokenSealer
from pwreset.server.notify import Notifier, Recipient
from pwreset.server.storage import AuditEvent, Store, UserRecord

log = logging.getLogger("pwreset.flows")


@dataclass
class FlowContext:
    config: Config
    directories: Mapping[str, Directory]
    db: Store
    notifier: Notifier
    tokens: TokenSealer
    decoys: Decoys
    limits: SendLimits
    decoy_strikes: DecoyStrikes
    clock: Callable[[], float] = field(default=time.time)
    # Messages sent after the reply: alerts (a slow mail server must not hold the flow's
    # answer past the relay's retries; the reset is done whatever happens to the alert), and
    # the codes of code-only starts (how long a send takes must not tell who exists).
    outbox: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=2, thread_name_prefix="alert")
    )
    # Proves that an admin request (see `admin`) comes from the server host; empty = none
    # is accepted.
    admin_key: bytes = field(default=b"", repr=False)

    def close(self) -> None:
        """Send the messages still queued, then close the database."""
        self.outbox.shutdown(wait=True)
        self.decoy_strikes.settle()
        self.db.close()

    def site(self, request: Request, flow: str) -> SiteConfig:
        site = self.config.sites.get(request.vdir)
        if site is None:
            raise FlowError("unknown_site")
        if flow not in site.flows:
            raise FlowError("flow_disabled")
        return site

    def directory(self, site: SiteConfig, typed: str) -> Directory:
        domain = self.config.domain(typed)
        allowed = not site.domains or any(domain and domain.matches(d) for d in site.domains)
        if domain is None or not allowed or domain.name not in self.directories:
            raise FlowError("unknown_domain")
        return self.directories[domain.name]


class Outcome(Enum):
    """An audit row's type, and whether an alert reports a success or a failure."""

    SUCCESS = "success"
    FAILURE = "failure"


@dataclass
class Step:
    """One request a flow serves, as its audit rows and alerts name it: the flow (`source`),
    the account (`username` in `domain`, narrowed by the flow to the directory's spelling once
    it has read the account) and the language its messages go out in."""

    ctx: FlowContext
    request: Request
    source: str  # "enroll", "reset", "unlock" or "change"
    domain: str
    username: str
    lang: str

    def succeeded(self, what: str) -> None:
        """Audit that `what` happened (never a secret)."""
        self._audit(Outcome.SUCCESS, self.source, self.username, self.domain, what)

    def failed(self, what: str) -> None:
        """Audit that this try failed and why (never a secret)."""
        self._audit(Outcome.FAILURE, self.source, self.username, self.domain, what)

    def alert(self, event: str, outcome: Outcome, to: Recipient) -> None:
        """Send the event's alert after the reply; a failure is logged by the notifier and
        audited here (the flow's outcome stands)."""
        notifier = self.ctx.notifier
        success = outcome is Outcome.SUCCESS
        if not notifier.alert_applies(event, success):
            return

        def send() -> None:
            if not notifier.alert(event, success, to):
                source = event if event != "lockout" else "reset"
                what = f"{event} alert e-mail not sent"
                self._audit(Outcome.FAILURE, source, to.username, to.domain, what)

        self.ctx.outbox.submit(send)

    def recipient(self, user: DirectoryUser | None, record: UserRecord | None) -> Recipient:
        return Recipient(
            username=user.username if user else (record.username if record else ""),
            domain=self.domain,
            directory_email=user.email if user else "",
            enrolled_email=record.email if record else "",
            phone=user.phone if user else "",
            # The stored preference wins: a chosen page language must not hide an alert.
            language=(record.language if record and record.language else self.lang) or "en",
        )

    def _audit(self, outcome: Outcome, source: str, user: str, domain: str, event: str) -> None:
        web_user = self.request.body.get("web_user")
        row = AuditEvent(
            type=outcome.value,
            source=source,
            user=user,
            domain=domain,
            event=event,
            ip=self.request.client_ip,
            web_user=web_user if isinstance(web_user, str) else "",
            time=self.ctx.clock(),
        )
        try:
            self.ctx.db.audit.append(row)
        except Exception:
            # The outcome stands; losing its audit row is logged loudly, never hidden.
            log.exception("could not write the audit event for %s of %s", source, user)


def lang_of(request: Request) -> str:
    value = request.body.get("lang")
    if isinstance(value, str) and value:
        return value.split("-")[0].lower()[:8]
    return "en"


def permitted(directory: Directory, user: DirectoryUser, rule: Permission) -> bool:
    """Whether `rule` (everybody, only members of some groups, or all but them) lets `user`
    in. Reset and unlock follow the enroll rule (security review 4): an account that may not
    enroll (an admin group) may not be recovered by questions or a code either."""
    if rule.allow == "all":
        return True
    member = directory.is_member(user, rule.groups)
    return member if rule.allow == "only" else not member
