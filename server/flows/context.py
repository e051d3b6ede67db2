"""What every flow needs: settings, directories, the database, notifications, the audit."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from pwreset.config.schema import Config, SiteConfig
from pwreset.protocol.messages import Request
from pwreset.server.directory.base import Directory, DirectoryUser
from pwreset.server.flows.code_limits import SendLimits
from pwreset.server.flows.decoy_strikes import DecoyStrikes
from pwreset.server.flows.decoys import Decoys
from pwreset.server.flows.errors import FlowError
from pwreset.server.flows.tokens import TokenSealer
from pwreset.server.notify import Notifier, Recipient
from pwreset.server.storage import AuditEvent, Database, UserRecord

log = logging.getLogger("pwreset.flows")


@dataclass
class FlowContext:
    config: Config
    directories: Mapping[str, Directory]
    db: Database
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

    def alert(self, request: Request, event: str, success: bool, to: Recipient) -> None:
        """Send the event's alert after the reply; a failure is logged by the notifier and
        audited here (the flow's outcome stands)."""
        if not self.notifier.alert_applies(event, success):
            return

        def send() -> None:
            if not self.notifier.alert(event, success, to):
                source = event if event != "lockout" else "reset"
                what = f"{event} alert e-mail not sent"
                self.audit(request, source, False, to.username, to.domain, what)

        self.outbox.submit(send)

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

    def audit(
        self,
        request: Request,
        source: str,
        success: bool,
        user: str,
        domain: str,
        event: str,
    ) -> None:
        """One audit row per attempt and outcome; `event` never holds a secret."""
        web_user = request.body.get("web_user")
        row = AuditEvent(
            type="success" if success else "failure",
            source=source,
            user=user,
            domain=domain,
            event=event,
            ip=request.client_ip,
            web_user=web_user if isinstance(web_user, str) else "",
            time=self.clock(),
        )
        try:
            self.db.audit.append(row)
        except Exception:
            # The outcome stands; losing its audit row is logged loudly, never hidden.
            log.exception("could not write the audit event for %s of %s", source, user)

    def recipient(
        self, user: DirectoryUser | None, record: UserRecord | None, domain: str, lang: str
    ) -> Recipient:
        return Recipient(
            username=user.username if user else (record.username if record else ""),
            domain=domain,
            directory_email=user.email if user else "",
            enrolled_email=record.email if record else "",
            phone=user.phone if user else "",
            # The stored preference wins: a chosen page language must not hide an alert.
            language=(record.language if record and record.language else lang) or "en",
        )


def lang_of(request: Request) -> str:
    value = request.body.get("lang")
    if isinstance(value, str) and value:
        return value.split("-")[0].lower()[:8]
    return "en"
