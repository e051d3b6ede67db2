"""What every flow works with: the settings, directories, database and notifications it
shares with the others (`FlowContext`), and the request it serves (`Step`), which writes the
request's audit rows and queues its alerts."""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum

from pwreset.config.flow_settings import Permission
from pwreset.config.schema import Config, SiteConfig
from pwreset.protocol.messages import Request
from pwreset.server.directory.base import Directory, DirectoryError, DirectoryUser
from pwreset.server.flows.codes import SendLimits
from pwreset.server.flows.errors import FlowError
from pwreset.server.flows.lockout import AnswerPrints, DecoyStrikes
from pwreset.server.flows.outbox import Outbox
from pwreset.server.flows.questions import Decoys
from pwreset.server.flows.sweeping import BackgroundSweep
from pwreset.server.flows.tokens import TokenSealer
from pwreset.server.notify import Notifier, Recipient
from pwreset.server.passwords import BreachedList, PasswordPolicy, Rule, UserContext, refusal_code
from pwreset.server.storage import AuditEvent, Store, UserRecord

log = logging.getLogger("pwreset.flows")

# At most one failure alert per account in this many seconds: someone hammering a real
# account (a wrong current password, a refused new password) cannot flood its mailbox.
FAILURE_ALERT_INTERVAL = 3600.0


def factor_key(data_key: bytes) -> bytes:
    """The key the factors derive theirs from (`FlowContext.factor_key`)."""
    return hmac.new(data_key, b"pwreset factors v1", hashlib.sha256).digest()


class FailureAlertBound:
    """When each account last got a failure alert (in memory: a restart allows one more).
    Holds only accounts that exist and failed within the interval."""

    def __init__(self) -> None:
        self._last: dict[tuple[str, str], float] = {}
        self._swept = 0.0
        self._lock = threading.Lock()

    def take(self, domain: str, username: str, now: float) -> bool:
        """Whether this account may get a failure alert now; if so, counts it."""
        key = (domain.casefold(), username.casefold())
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < FAILURE_ALERT_INTERVAL:
                return False
            self._last[key] = now
            # Forget accounts past the interval once per interval, not on every alert.
            if now - self._swept >= FAILURE_ALERT_INTERVAL:
                self._swept = now
                self._last = {
                    k: t for k, t in self._last.items() if now - t < FAILURE_ALERT_INTERVAL
                }
            return True


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
    answer_prints: AnswerPrints
    # The factors' own keys are derived from this one (see factor_key): the recovery codes'
    # hashes, the authenticator secret waiting for its confirming code.
    factor_key: bytes = field(repr=False)
    failure_alerts: FailureAlertBound = field(default_factory=FailureAlertBound)
    clock: Callable[[], float] = field(default=time.time)
    # Messages sent after the reply: alerts (a slow mail server must not hold the flow's
    # answer past the relay's retries; the reset is done whatever happens to the alert), and
    # the codes of code-only starts (how long a send takes must not tell who exists).
    outbox: Outbox = field(default_factory=Outbox)
    # Proves that an admin request (see `admin`) comes from the server host; empty = none
    # is accepted.
    admin_key: bytes = field(default=b"", repr=False)
    # The imported breached-password list ([password_policy] breached_file), opened once.
    breached: BreachedList | None = None
    # Removes the marks of spent passkey challenges once they are stale (factors/passkeys).
    passkey_sweep: BackgroundSweep = field(
        default_factory=lambda: BackgroundSweep("spent passkey challenges")
    )

    def close(self) -> None:
        """Send the messages still queued, then close the database."""
        self.outbox.shutdown()
        self.decoy_strikes.settle()
        self.limits.settle()
        self.passkey_sweep.settle()
        self.db.close()
        if self.breached is not None:
            self.breached.close()

    def password_policy(self, directory: Directory) -> PasswordPolicy:
        """The domain's policy: its directory's rules (read briefly cached) and the local
        ones."""
        local = self.config.password_policy
        return PasswordPolicy.build(local, directory.password_rules(), self.breached)

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

    def check_new_password(
        self, directory: Directory, password: str, user: UserContext, *, directory_rules: bool
    ) -> None:
        """Refuse a new password that breaks a rule of the domain's policy before the
        directory sees it (its own rules too with `directory_rules`): audited (the rules,
        never the password), answered with the code of the rules broken (`refusal_code`)
        and `rules` naming every one of them."""
        policy = self.ctx.password_policy(directory)
        self.refuse_password(
            directory, policy.check(password, user, directory_rules=directory_rules)
        )

    def refuse_password(self, directory: Directory, broken: list[Rule]) -> None:
        """Refuse the new password if it breaks any of `broken` (see check_new_password)."""
        if broken:
            ids = ",".join(rule.id for rule in broken)
            self.failed(f"new password refused by the password rules: {ids}")
            self.alert_failure(directory)
            raise FlowError(refusal_code(broken), f"the new password breaks: {ids}", rules=ids)

    def alert(
        self,
        event: str,
        outcome: Outcome,
        to: Recipient | Callable[[], Recipient | None],
        values: Mapping[str, str] | None = None,
    ) -> None:
        """Send the event's alert after the reply, to `to` or to whom `to()` returns there
        (None: nobody, nothing is sent), with the event's own macros `values`; a failure is
        logged by the notifier and audited here (the flow's outcome stands). A failure alert
        is bounded per account (see FailureAlertBound)."""
        notifier = self.ctx.notifier
        success = outcome is Outcome.SUCCESS
        if not notifier.alert_applies(event, success):
            return

        def send() -> None:
            recipient = to if isinstance(to, Recipient) else to()
            if recipient is None:
                return
            if not success and not self.ctx.failure_alerts.take(
                recipient.domain, recipient.username, self.ctx.clock()
            ):
                log.info("%s failure alert for %s@%s not sent: one was sent less than %d s ago",
                         event, recipient.username, recipient.domain,
                         FAILURE_ALERT_INTERVAL)  # fmt: skip
                return
            if not notifier.alert(event, success, recipient, values):
                source = "reset" if event == "lockout" else self.source
                what = f"{event} alert e-mail not sent"
                self._audit(Outcome.FAILURE, source, recipient.username, recipient.domain, what)

        if success:
            self.ctx.outbox.submit(send)
        else:
            self.ctx.outbox.submit_droppable("failure alerts", send)

    def alert_failure(self, directory: Directory) -> None:
        """This flow's failure alert to the account named `username`, read from `directory`
        after the reply: a name with no account gets nothing, and the reply costs the same
        for it as for a real one."""
        self.alert(self.source, Outcome.FAILURE, self.addressee(directory, self.username))

    def addressee(self, directory: Directory, name: str) -> Callable[[], Recipient | None]:
        """An alert's addressee for `alert`: the account `name` as `directory` and the store
        hold it, read after the reply (nobody when there is no such account)."""

        def account() -> Recipient | None:
            try:
                user = directory.find_user(name)
            except DirectoryError as exc:
                log.warning("%s alert for %s: directory lookup failed (%s)",
                            self.source, name, exc.code)  # fmt: skip
                return None
            if user is None:
                return None
            return self.recipient(user, self.ctx.db.users.get(directory.name, user.username))

        return account

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


def names_of(user: DirectoryUser) -> UserContext:
    """The user's names for the names rule: the account's and the display name's tokens,
    told only to (and checked only for) a user who proved who they are."""
    return UserContext(user.username, user.display_name)
