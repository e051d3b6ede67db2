"""Reset and Unlock: identify → each enrolled question → optional code → new password
(reset) or unlock.

Unknown and unenrolled users walk the same steps with decoy questions that can never be
answered, and get the same replies with the same amount of work, so nobody learns who
exists or who enrolled.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

from pwreset.protocol.messages import Request
from pwreset.server.directory.base import Directory, DirectoryError, DirectoryUser
from pwreset.server.flows import answers, codes, lockout, pending, questions
from pwreset.server.flows.code_sending import send_code
from pwreset.server.flows.context import FlowContext, lang_of, log
from pwreset.server.flows.decoy_strikes import directory_name
from pwreset.server.flows.errors import FlowError
from pwreset.server.flows.fields import text, texts
from pwreset.server.flows.permissions import check_recovery_permitted, may_recover
from pwreset.server.flows.tokens import BadToken, FlowState, new_flow_id
from pwreset.server.notify import Recipient
from pwreset.server.storage import UserRecord

_DONE = {"reset": "RES_FINISHED_RESET", "unlock": "RES_FINISHED_UNLOCK"}


def start(ctx: FlowContext, request: Request, kind: str) -> Mapping[str, Any]:
    site = ctx.site(request, kind)
    body = texts(request.body, "domain", "username")
    directory = ctx.directory(site, body["domain"])
    lang = lang_of(request)
    typed = body["username"].strip()
    user = directory.find_user(typed)
    if user is not None and not may_recover(ctx, directory, user):
        user = None  # excluded: shown what an unknown user is shown (security review 4)
    record = ctx.db.users.get(directory.name, user.username) if user else None
    now = ctx.clock()
    # A decoy goes by the name the directory looked up, as an existing user does.
    name = user.username if user else directory_name(typed, ctx.config.domain(directory.name))
    state = FlowState(
        kind=kind,
        site=request.vdir,
        domain=directory.name,
        username=name,
        mode="decoy",
        step="question",
        index=0,
        total=ctx.config.enroll.questions,
        lang=lang,
        flow_id=new_flow_id(),
        started=now,
        touched=now,
    )
    security = ctx.config.security
    if user is not None and record is not None and _enrolled(ctx, record):
        if lockout.is_locked(lockout.of_record(record), security, now):
            ctx.audit(request, kind, False, user.username, directory.name, "locked out by pwreset")
            raise FlowError("locked_out")
        if record.enrollment and not record.auto_enrolled:
            enrolled = record.enrollment["questions"]
            state = state.advance(now, mode="questions", total=len(enrolled))
            prompt = questions.prompt(ctx.config.enroll, enrolled[0], lang)
            return _reply(ctx, state, _question_step(state, prompt))
    if user is not None and _may_auto_enroll(ctx, record):
        auto = state.advance(now, mode="auto", step="code", total=0)
        shown = send_code(ctx, request, auto, user, record, after_reply=True)
        if shown is not None:
            return _reply(ctx, auto, {"kind": "code", "destinations": shown})
        # Nowhere to send a code: answered as an unknown name is, since nothing is proven yet.
        what = "no address or phone to send a code to"
        ctx.audit(request, kind, False, user.username, directory.name, what)
    # A decoy from here on: locked out like an enrolled user would be.
    if lockout.is_locked(ctx.decoy_strikes.get(state.domain, state.username), security, now):
        ctx.audit(request, kind, False, state.username, directory.name, "locked out by pwreset")
        raise FlowError("locked_out")
    verification = ctx.config.verification
    if verification.enabled and verification.auto_enroll:
        # Users who could auto-enroll go straight to a code: so do decoys.
        state = state.advance(now, step="code", total=0)
        domain = ctx.config.domain(directory.name)
        mail_domain = domain.effective_mail_domain() if domain else ""
        shown = ctx.decoys.destinations(directory.name, state.username, mail_domain, verification)
        step = {"kind": "code", "destinations": shown}
        answers.burn_time_like_a_check()
        # A decoy code with the same limits and wrong tries as a real user's.
        with ctx.db.users.locked(directory.name, state.username):
            ctx.limits.issue_decoy(
                ctx.db.keyed,
                ctx.config.verification,
                directory.name,
                state.username,
                state.flow_id,
                now,
            )
        return _reply(ctx, state, step)
    prompts = _decoy_questions(ctx, state)
    return _reply(ctx, state, _question_step(state, prompts[0]))


def step(ctx: FlowContext, request: Request, kind: str) -> Mapping[str, Any]:
    ctx.site(request, kind)  # the flow may have been switched off since it started
    token = text(request.body, "flow")
    try:
        state = ctx.tokens.open(token, request.vdir)
    except BadToken:
        raise FlowError("session_expired", "the flow token is not valid") from None
    now = ctx.clock()
    idle = ctx.config.security.idle_timeout
    if state.kind != kind or (idle and now - state.touched > idle):
        raise FlowError("session_expired")
    directory = ctx.directories.get(state.domain)
    if directory is None:
        raise FlowError("session_expired", "the domain is no longer configured")
    if state.step == "question":
        return _answer(ctx, request, state, directory, now)
    if state.step == "code":
        return _code(ctx, request, state, directory, now)
    return _password(ctx, request, state, directory, now)


# --- questions --------------------------------------------------------------------------------


def _answer(
    ctx: FlowContext, request: Request, state: FlowState, directory: Directory, now: float
) -> Mapping[str, Any]:
    answer = text(request.body, "answer")
    # One user's answers are checked one at a time: parallel guesses are each counted,
    # and each waits for the slowdown the one before it earned (security review 7).
    with ctx.db.users.locked(state.domain, state.username):
        if state.mode == "decoy":
            _decoy_check(ctx, state, now, counted=True)
            answers.burn_time_like_a_check()
            ctx.audit(request, state.kind, False, state.username, state.domain, "not enrolled")
            _decoy_count(ctx, request, state, now)
            raise FlowError("wrong_answer")
        record = _live_record(ctx, state, now)
        lockout.check(lockout.of_record(record), ctx.config.security, now)
        enrolled = (record.enrollment or {}).get("questions") or []
        if state.index >= len(enrolled):
            raise FlowError("session_expired")
        if not answers.verify_answer(answer, enrolled[state.index]["h"]):
            what = f"wrong answer to question {state.index + 1}"
            _count_failure(ctx, request, state, record, what, now)
            raise FlowError("wrong_answer")
        following = state.index + 1
        if following < len(enrolled):
            state = state.advance(now, index=following)
            prompt = questions.prompt(ctx.config.enroll, enrolled[following], state.lang)
            return _reply(ctx, state, _question_step(state, prompt))
        # Every question answered: the count of wrong answers starts again.
        lockout.release(record)
        ctx.db.users.save(record)
    return _after_questions(ctx, request, state, directory, record, now)


def _after_questions(
    ctx: FlowContext,
    request: Request,
    state: FlowState,
    directory: Directory,
    record: UserRecord,
    now: float,
) -> Mapping[str, Any]:
    if ctx.config.verification.enabled:
        user = _directory_user(directory, state)
        return _send_code(ctx, request, state.advance(now, step="code"), directory, user, record)
    return _verified(ctx, request, state, directory, now)


def _verified(
    ctx: FlowContext, request: Request, state: FlowState, directory: Directory, now: float
) -> Mapping[str, Any]:
    """Identity proved: unlock now, or ask for the new password."""
    if state.kind == "unlock":
        return _unlock(ctx, request, state, directory, now)
    step = {"kind": "password", "policy": ""}
    return _reply(ctx, state.advance(now, step="password"), step)


# --- verification codes ---------------------------------------------------------------------


def _send_code(
    ctx: FlowContext,
    request: Request,
    state: FlowState,
    directory: Directory,
    user: DirectoryUser,
    record: UserRecord | None,
) -> Mapping[str, Any]:
    shown = send_code(ctx, request, state, user, record)
    if shown is not None:
        return _reply(ctx, state, {"kind": "code", "destinations": shown})
    if ctx.config.verification.fallback_without_code and state.mode != "auto":
        ctx.audit(
            request, state.kind, True, user.username, directory.name,
            "no code could be sent; continued without one",
        )  # fmt: skip
        return _verified(ctx, request, state, directory, ctx.clock())
    ctx.audit(request, state.kind, False, user.username, directory.name, "code could not be sent")
    raise FlowError("code_not_sent")


def _code(
    ctx: FlowContext, request: Request, state: FlowState, directory: Directory, now: float
) -> Mapping[str, Any]:
    typed = text(request.body, "code")
    settings = ctx.config.verification
    # Under the user's lock: parallel tries are counted one after the other, so no more
    # than max_code_attempts of them are ever checked (security review 3).
    with ctx.db.users.locked(state.domain, state.username):
        if state.mode == "decoy":
            _decoy_check(ctx, state, now, counted=settings.lockout_on_wrong_code)
            verdict = ctx.limits.try_decoy(
                ctx.db.keyed, settings, state.domain, state.username, typed, state.flow_id, now
            )
            if settings.lockout_on_wrong_code:
                _decoy_count(ctx, request, state, now)
            raise FlowError("code_dead" if verdict == "dead" else "wrong_code")
        record = _live_record(ctx, state, now)
        if settings.lockout_on_wrong_code:
            lockout.check(lockout.of_record(record), ctx.config.security, now)
        tries = int((record.code or {}).get("tries", 0))
        verdict = codes.attempt(record.code, typed, state.flow_id, settings)
        if verdict != "right":
            counted = int((record.code or {}).get("tries", 0)) > tries
            what = {
                "wrong": "wrong verification code",
                "dead": "verification code dead after too many wrong tries"
                if counted
                else "a dead verification code was tried",
            }[verdict]
            if settings.lockout_on_wrong_code and (counted or verdict == "wrong"):
                _count_failure(ctx, request, state, record, what, now)
            else:
                ctx.db.users.save(record)
                ctx.audit(request, state.kind, False, state.username, state.domain, what)
            raise FlowError("code_dead" if verdict == "dead" else "wrong_code")
        if record.code is not None and codes.expired(record.code, settings, now):
            ctx.audit(request, state.kind, False, state.username, state.domain, "code expired")
            raise FlowError("code_expired")
        record.code = None  # single use
        if state.mode == "auto" and record.last_enroll is None:
            record.last_enroll = now
            # The code proved the mailbox: this user's language, not that of an earlier start.
            record.language = state.lang
            ctx.audit(request, state.kind, True, state.username, state.domain, "auto-enrolled")
        ctx.db.users.save(record)
    return _verified(ctx, request, state, directory, now)


# --- the outcome --------------------------------------------------------------------------------


def _password(
    ctx: FlowContext, request: Request, state: FlowState, directory: Directory, now: float
) -> Mapping[str, Any]:
    new_password = text(request.body, "new_password")
    record = _live_record(ctx, state, now)
    if record.last_reset is not None and record.last_reset >= state.started:
        raise FlowError("session_expired", "this flow was already used")
    user = _directory_user(directory, state)
    if user.disabled:
        ctx.audit(request, "reset", False, user.username, state.domain, "account disabled")
        raise FlowError("account_disabled")
    security = ctx.config.security
    minimum = security.min_reset_age_days * 86400.0
    if security.enforce_directory_history:
        minimum = max(minimum, directory.min_password_age())
    last_set = user.password_set or record.last_reset
    if minimum and last_set is not None and now - last_set < minimum:
        ctx.audit(request, "reset", False, user.username, state.domain, "password too young")
        raise FlowError("password_too_young")
    check_recovery_permitted(ctx, request, state.kind, directory, user)
    with pending.noted(ctx.db, "reset", state.domain, user, user.username, ctx.clock()):
        with _refusal_audited(ctx, request, state, user):
            directory.reset_password(
                user,
                new_password,
                must_change=security.must_change_after_reset,
                enforce_history=security.enforce_directory_history,
            )
        return _finished(ctx, request, state, user, "password reset", last_reset=now)


def _unlock(
    ctx: FlowContext, request: Request, state: FlowState, directory: Directory, now: float
) -> Mapping[str, Any]:
    _live_record(ctx, state, now)
    user = _directory_user(directory, state)
    check_recovery_permitted(ctx, request, state.kind, directory, user)
    with pending.noted(ctx.db, "unlock", state.domain, user, user.username, ctx.clock()):
        with _refusal_audited(ctx, request, state, user):
            directory.unlock(user)
        return _finished(ctx, request, state, user, "account unlocked", last_unlock=now)


@contextlib.contextmanager
def _refusal_audited(
    ctx: FlowContext, request: Request, state: FlowState, user: DirectoryUser
) -> Iterator[None]:
    """Audit a directory's refusal of the final operation, then let it reach the user."""
    try:
        yield
    except DirectoryError as exc:
        what = f"refused by the directory ({exc.code})"
        ctx.audit(request, state.kind, False, user.username, state.domain, what)
        raise


def _finished(
    ctx: FlowContext,
    request: Request,
    state: FlowState,
    user: DirectoryUser,
    what: str,
    **done: float,
) -> Mapping[str, Any]:
    """Record, audit and announce a done reset or unlock. The alert goes in the language
    the user enrolled with: the page's was chosen by whoever asked (security review 12)."""
    with ctx.db.users.locked(state.domain, state.username):
        # Read again: wrong answers counted meanwhile by other flows must not be lost.
        record = _live_record(ctx, state, ctx.clock())
        for name, value in done.items():
            setattr(record, name, value)
        ctx.db.users.save(record)
    ctx.audit(request, state.kind, True, user.username, state.domain, what)
    log.info("%s done: user=%s domain=%s", state.kind, user.username, state.domain)
    ctx.alert(request, state.kind, True, ctx.recipient(user, record, state.domain, state.lang))
    return {"status": "done", "message": _DONE[state.kind]}


# --- helpers ------------------------------------------------------------------------------------


def _enrolled(ctx: FlowContext, record: UserRecord) -> bool:
    """Enrolled by questions, or auto-enrolled while auto-enrollment is still on."""
    if record.enrollment and not record.auto_enrolled:
        return True
    verification = ctx.config.verification
    return record.auto_enrolled and verification.enabled and verification.auto_enroll


def _may_auto_enroll(ctx: FlowContext, record: UserRecord | None) -> bool:
    verification = ctx.config.verification
    if not (verification.enabled and verification.auto_enroll):
        return False
    return record is None or record.enrollment is None


def _count_failure(
    ctx: FlowContext,
    request: Request,
    state: FlowState,
    record: UserRecord,
    what: str,
    now: float,
) -> None:
    """Count a wrong answer or code in `record` (the caller holds the user's lock)."""
    locked_now = lockout.fail_record(record, ctx.config.security, now)
    ctx.db.users.save(record)
    ctx.audit(request, state.kind, False, state.username, state.domain, what)
    if locked_now:
        ctx.audit(
            request, state.kind, False, state.username, state.domain,
            f"locked out after {record.wrong_answers} wrong answers",
        )  # fmt: skip
        ctx.alert(request, "lockout", True, _lockout_recipient(ctx, state, record))
        raise FlowError("locked_out")


def _lockout_recipient(ctx: FlowContext, state: FlowState, record: UserRecord) -> Recipient:
    """The lockout alert's addressee with the directory's address and phone: without them
    it reaches nobody when enrollment asks for no address (security review 12)."""
    directory = ctx.directories.get(state.domain)
    try:
        user = directory.find_user(state.username) if directory is not None else None
    except DirectoryError as exc:
        log.warning("lockout alert for %s: directory lookup failed (%s)", state.username, exc.code)
        user = None
    return ctx.recipient(user, record, state.domain, state.lang)


def _decoy_check(ctx: FlowContext, state: FlowState, now: float, *, counted: bool) -> None:
    """A decoy is refused as an enrolled user would be: while locked out and, if its tries
    count, while slowed down (the caller holds the user's lock)."""
    strikes = ctx.decoy_strikes.get(state.domain, state.username)
    if lockout.is_locked(strikes, ctx.config.security, now):
        raise FlowError("locked_out")
    if counted:
        lockout.check(strikes, ctx.config.security, now)


def _decoy_count(ctx: FlowContext, request: Request, state: FlowState, now: float) -> None:
    """Count a decoy's wrong try with the same durable write as an enrolled user's; raises
    locked_out at the threshold, as for them (the caller holds the user's lock)."""
    security = ctx.config.security
    strikes = ctx.decoy_strikes.get(state.domain, state.username)
    after = lockout.add(strikes, security, now)
    ctx.decoy_strikes.put(state.domain, state.username, after)
    if lockout.is_locked(after, security, now):
        what = f"locked out after {after.count} wrong answers (not enrolled)"
        ctx.audit(request, state.kind, False, state.username, state.domain, what)
        raise FlowError("locked_out")


def _live_record(ctx: FlowContext, state: FlowState, now: float) -> UserRecord:
    record = ctx.db.users.get(state.domain, state.username)
    if record is None:
        raise FlowError("session_expired", "the enrollment is gone")
    if lockout.is_locked(lockout.of_record(record), ctx.config.security, now):
        raise FlowError("locked_out")
    return record


def _directory_user(directory: Directory, state: FlowState) -> DirectoryUser:
    user = directory.find_user(state.username)
    if user is None:
        raise FlowError("session_expired", "the account is gone")
    return user


def _question_step(state: FlowState, prompt: str) -> dict[str, Any]:
    return {"kind": "question", "index": state.index + 1, "total": state.total, "prompt": prompt}


def _decoy_questions(ctx: FlowContext, state: FlowState) -> list[str]:
    settings = ctx.config.enroll
    size = len(settings.question_list["en"])
    ids = ctx.decoys.question_ids(state.domain, state.username, size, state.total)
    return [questions.prompt_at(settings, i, state.lang) or "" for i in ids]


def _reply(ctx: FlowContext, state: FlowState, step: Mapping[str, Any]) -> Mapping[str, Any]:
    return {"flow": ctx.tokens.seal(state), "step": dict(step)}
