"""Sending a user's verification code within the limits of `code_limits`: choose the
destinations, issue (or re-show) the code under the user's lock, send it after, and undo the
issue when no message went out."""

from __future__ import annotations

from pwreset.protocol.messages import Request
from pwreset.server.directory.base import DirectoryUser
from pwreset.server.flows.code_limits import Destination, Issue
from pwreset.server.flows.context import FlowContext
from pwreset.server.flows.tokens import FlowState
from pwreset.server.notify import NotifyError, mask_email, mask_phone
from pwreset.server.storage import UserRecord


def send_code(
    ctx: FlowContext,
    request: Request,
    state: FlowState,
    user: DirectoryUser,
    record: UserRecord | None,
    *,
    after_reply: bool = False,
) -> list[str] | None:
    """The destinations to show on the code step, or None when no code could be sent (the
    flow then decides: go on without one, or "code not sent"). A start within the cooldown
    or past a limit shows the step without sending: see `code_limits`.

    `after_reply` sends from the outbox once the reply is on its way, and shows every
    destination whatever becomes of the send: before anything is proven, neither the time a
    send takes nor its failure may tell an existing account from an unknown name. None then
    means only that the account has nowhere to send a code."""
    settings = ctx.config.verification
    domain = state.domain
    with ctx.db.users.locked(domain, user.username):
        record = ctx.db.users.get(domain, user.username) or record
        if record is None:
            record = UserRecord(domain=domain, username=user.username, auto_enrolled=True)
            record.language = state.lang
        wanted = _destinations(ctx, user, record, auto=state.mode == "auto")
        if not wanted:
            record.code = None
            ctx.db.users.save(record)
            return None
        user_id = ctx.limits.user_id(domain, user.username)
        issue = ctx.limits.issue(
            ctx.db.keyed, settings, user_id, record.code, wanted, state.flow_id, ctx.clock()
        )
        record.code = issue.record
        ctx.db.users.save(record)
    if issue.code is None:
        what = "code still valid; not sent again" if issue.reused else "code not sent: limit"
        ctx.audit(request, state.kind, True, user.username, domain, what)
        return [_shown(ctx, d) for d in wanted]
    if after_reply:
        ctx.outbox.submit(_deliver_later, ctx, request, state, user, record, issue)
        return [_shown(ctx, d) for d in wanted]
    failed = _deliver(ctx, request, state, user, record, issue)
    if failed is None:
        return None
    return [_shown(ctx, d) for d in wanted if d not in failed]


def _deliver(
    ctx: FlowContext,
    request: Request,
    state: FlowState,
    user: DirectoryUser,
    record: UserRecord,
    issue: Issue,
) -> list[Destination] | None:
    """Send the issued code; the destinations that failed, or None when none worked (the
    code is then withdrawn, so it cannot be used and does not count toward a limit)."""
    domain = state.domain
    code = issue.code
    if code is None:  # nothing to send: a re-shown or limited code is never delivered
        return []
    recipient = ctx.recipient(user, record, domain, state.lang)
    failed: list[Destination] = []
    emails = [d for d in issue.send_to if d.channel == "email"]
    # A failure is logged by the notifier (why, never the code); the user hears of it only
    # if no channel worked.
    if emails:
        try:
            ctx.notifier.send_code_email([d.address for d in emails], code, recipient)
        except NotifyError:
            failed += emails
    for phone in (d for d in issue.send_to if d.channel == "sms"):
        try:
            ctx.notifier.send_code_sms(phone.address, code, recipient)
        except NotifyError:
            failed.append(phone)
    if len(failed) < len(issue.send_to):
        ctx.audit(request, state.kind, True, user.username, domain, "code sent")
        return failed
    user_id = ctx.limits.user_id(domain, user.username)
    ctx.limits.withdraw(ctx.db.keyed, user_id, issue, issue.record["issued"])
    with ctx.db.users.locked(domain, user.username):
        stored = ctx.db.users.get(domain, user.username)
        if stored is not None and stored.code == issue.record:
            stored.code = None
            ctx.db.users.save(stored)
    return None


def _deliver_later(
    ctx: FlowContext,
    request: Request,
    state: FlowState,
    user: DirectoryUser,
    record: UserRecord,
    issue: Issue,
) -> None:
    if _deliver(ctx, request, state, user, record, issue) is None:
        ctx.audit(request, state.kind, False, user.username, state.domain, "code could not be sent")


def _destinations(
    ctx: FlowContext, user: DirectoryUser, record: UserRecord, *, auto: bool
) -> list[Destination]:
    """Where the code goes. Auto-enrolled users only ever get the directory's address:
    nobody has checked an address they could have typed."""
    settings = ctx.config.verification
    found: list[Destination] = []
    if settings.email:
        choice = "directory" if auto else settings.email_to
        emails: list[str] = []
        if choice in ("directory", "both") and user.email:
            emails.append(user.email)
        if choice in ("enrolled", "both") and record.email and record.email not in emails:
            emails.append(record.email)
        found += [Destination("email", address) for address in emails]
    if settings.sms and user.phone:
        found.append(Destination("sms", user.phone))
    return found


def _shown(ctx: FlowContext, destination: Destination) -> str:
    if not ctx.config.verification.mask_destinations:
        return destination.address
    mask = mask_email if destination.channel == "email" else mask_phone
    return mask(destination.address)
