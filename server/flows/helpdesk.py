"""The help desk (the web console's agents, Specops uReset's Secure Service Desk): an agent
verifies a caller with the caller's own enrolled factors, then unlocks their account, lifts
pwreset's lockout or resets their password to a one-time password to be changed at next logon.

Every operation is an admin request (proved with the data key, see `admin`) naming the agent
(`by`). The case travels as a token sealed by the server: the agent, the caller, the question
being asked, the questions answered right and when the caller was verified. The console keeps
it in the agent's session, never in the browser. The writes refuse a case that is not
verified, that another agent opened, or that is older than `console.helpdesk_case_minutes`:
a console session cannot skip verification. The agent sees question texts and where a code
went (masked), never an answer or a code: the caller reads them out, the agent types them,
and they are checked here, wrong ones counted toward the caller's lockout as on the reset page.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from pwreset.protocol.messages import Request
from pwreset.server.directory.base import Directory, DirectoryError, DirectoryUser
from pwreset.server.flows import codes, lockout, pending, questions
from pwreset.server.flows.admin import proven, release_lockout
from pwreset.server.flows.context import (
    FlowContext,
    Outcome,
    Step,
    lang_of,
    log,
    names_of,
    permitted,
)
from pwreset.server.flows.errors import FlowError
from pwreset.server.flows.factors.questions_factor import enrolled_questions
from pwreset.server.flows.fields import text
from pwreset.server.flows.tokens import BadToken, FlowState, Sealer, new_flow_id
from pwreset.server.passwords.one_time import one_time_password
from pwreset.server.storage import UserRecord

OPEN = "helpdesk.open"
SEND_CODE = "helpdesk.send_code"
CHECK_CODE = "helpdesk.check_code"
CHECK_ANSWER = "helpdesk.check_answer"
UNLOCK = "helpdesk.unlock"
LIFT = "helpdesk.lift_lockout"
RESET = "helpdesk.reset"

SOURCE = "helpdesk"
LIFTED_EVENT = "pwreset lockout lifted by the help desk"
UNLOCKED = "account unlocked by the help desk"
RESET_DONE = "password reset by the help desk to a one-time password"
RESET_DONE_NO_CHANGE = (
    "password reset by the help desk to a one-time password (it never expires: no change at "
    "next logon)"
)
NOT_VERIFIED = "help desk action refused: the caller is not verified"


@dataclass(frozen=True)
class Case:
    """One agent helping one caller."""

    agent: str  # the console's name for the agent: console:DOMAIN\user
    domain: str
    username: str  # as the directory spells it
    flow_id: str  # the code sent for this case is bound to it
    opened: float
    question: int = -1  # the enrolled question asked now (its position), -1 none
    answered: tuple[int, ...] = ()  # the questions answered right
    verified: str = ""  # how: "code" or "answers"; "" not yet

    def sealed(self, key: bytes) -> str:
        return _sealer(key).seal(asdict(self), _BOUND)

    @classmethod
    def opened_from(cls, token: str, key: bytes) -> Case:
        """The case of `token`; FlowError session_expired if this server did not seal it."""
        try:
            fields = _sealer(key).open(token, _BOUND)
            fields["answered"] = tuple(fields["answered"])
            return cls(**fields)
        except (BadToken, TypeError, KeyError) as exc:
            raise FlowError("session_expired", "not a help desk case") from exc


_BOUND = "helpdesk"


def _sealer(admin_key: bytes) -> Sealer:
    return Sealer(admin_key, b"pwreset help desk v1")


@dataclass
class Desk:
    """One help desk request: the case, the caller as the directory has them, and the step
    that writes its audit rows (source `helpdesk`, the agent as web user)."""

    ctx: FlowContext
    step: Step
    case: Case
    directory: Directory
    user: DirectoryUser

    @property
    def record(self) -> UserRecord | None:
        return self.ctx.db.users.get(self.case.domain, self.case.username)

    def reply(self, **extra: Any) -> dict[str, Any]:
        """What the agent's page shows of the case (never an answer, a code or a hash)."""
        ctx, case, user, record = self.ctx, self.case, self.user, self.record
        now = ctx.clock()
        security = ctx.config.security
        enrolled = enrolled_questions(record)
        verification = ctx.config.verification
        by_code = verification.enabled and (verification.email or verification.sms)
        return {
            "case": case.sealed(ctx.admin_key),
            "username": user.username,
            "display_name": user.display_name,
            "enrolled": bool(enrolled) or _code_only(ctx, record),
            "questions": len(enrolled),
            "answers_needed": _needed(ctx, record),
            "answered": len(case.answered),
            "question": _prompt(ctx, record, case.question, self.step.lang),
            "code": bool(by_code and record is not None),
            "verified": case.verified,
            "pwreset_locked": bool(
                record and lockout.is_locked(lockout.of_record(record), security, now)
            ),
            "directory_locked": user.locked,
            "disabled": user.disabled,
            "never_expires": user.password_never_expires,
            **extra,
        }


# --- the operations ------------------------------------------------------------------------


def open_case(ctx: FlowContext, request: Request) -> Mapping[str, Any]:
    """Look the caller up and open a case for the agent."""
    body = proven(ctx, request, "domain", "username", "by")
    domain = ctx.config.domain(body["domain"])
    directory = ctx.directories.get(domain.name) if domain else None
    if directory is None:
        raise FlowError("unknown_domain")
    user = directory.find_user(body["username"].strip())
    agent = body["by"]
    step = _step(ctx, request, directory.name, body["username"].strip(), agent)
    if user is None:
        raise FlowError("not_permitted", "no such user in the directory")
    step.username = user.username
    if agent.casefold() == f"console:{directory.name}\\{user.username}".casefold():
        step.failed("not permitted")
        raise FlowError("not_permitted", "an agent cannot help themselves")
    if not permitted(directory, user, ctx.config.enroll.permission):
        step.failed("not permitted")
        raise FlowError("not_permitted", "the user may not use pwreset")
    record = ctx.db.users.get(directory.name, user.username)
    case = Case(agent, directory.name, user.username, new_flow_id(), ctx.clock())
    case = replace(case, question=_next_question(record, case.answered))
    step.succeeded("help desk case opened")
    return Desk(ctx, step, case, directory, user).reply()


def send_code(ctx: FlowContext, request: Request) -> Mapping[str, Any]:
    """Send a code to the caller's enrolled e-mail and phone, within the send limits."""
    desk = _desk(ctx, request)
    record = desk.record
    if record is None or not (enrolled_questions(record) or _code_only(ctx, record)):
        raise FlowError("not_permitted", "the user is not enrolled")
    if not ctx.config.verification.enabled:
        raise FlowError("flow_disabled", "verification codes are off")
    case = desk.case
    # A code-only (auto-enrolled) user's code goes to the directory's address alone.
    mode = "questions" if enrolled_questions(record) else "auto"
    state = FlowState(
        kind=SOURCE, site="", domain=case.domain, username=case.username, mode=mode,
        step="code", index=0, total=0, lang=record.language or "en", flow_id=case.flow_id,
        started=case.opened, touched=ctx.clock(),
    )  # fmt: skip
    delivery = codes.deliver_code(desk.step, state, desk.user, record)
    if delivery.outcome == "failed":
        desk.step.failed("code could not be sent")
    return desk.reply(sent=delivery.outcome, destinations=delivery.shown)


def check_code(ctx: FlowContext, request: Request) -> Mapping[str, Any]:
    """The code the caller reads out. Wrong tries kill the code as on the reset page and,
    with `lockout_on_wrong_code`, count toward the lockout. A caller locked out by pwreset
    may still be verified by a code: lifting that lockout is what many of them call for."""
    desk = _desk(ctx, request)
    typed = text(request.body, "code")
    settings = ctx.config.verification
    case, step = desk.case, desk.step
    with ctx.db.users.locked(case.domain, case.username):
        record = _record(desk)
        tries = int((record.code or {}).get("tries", 0))
        verdict = codes.attempt(record.code, typed, case.flow_id, settings)
        if verdict != "right":
            counted = int((record.code or {}).get("tries", 0)) > tries
            if verdict == "wrong":
                what = "wrong verification code"
            elif counted:
                what = "verification code dead after too many wrong tries"
            else:
                what = "a dead verification code was tried"
            if settings.lockout_on_wrong_code and (counted or verdict == "wrong"):
                _count_wrong(desk, record, what)
            else:
                ctx.db.users.save(record)
                step.failed(what)
            raise FlowError("code_dead" if verdict == "dead" else "wrong_code")
        if record.code is not None and codes.expired(record.code, settings, ctx.clock()):
            step.failed("code expired")
            raise FlowError("code_expired")
        record.code = None  # single use
        ctx.db.users.save(record)
    step.succeeded("caller verified by the help desk with a code")
    desk.case = replace(case, verified="code", question=-1)
    return desk.reply()


def check_answer(ctx: FlowContext, request: Request) -> Mapping[str, Any]:
    """The answer the caller reads out to the question the server picked, checked and
    counted as on the reset page (the same lockout, delays and repeated-answer rule)."""
    desk = _desk(ctx, request)
    answer = text(request.body, "answer")
    case, step, security = desk.case, desk.step, ctx.config.security
    now = ctx.clock()
    wrong = ctx.answer_prints.of(case.domain, case.username, case.question, answer)
    with ctx.db.users.locked(case.domain, case.username):
        record = _record(desk)
        enrolled = enrolled_questions(record)
        if not 0 <= case.question < len(enrolled) or case.verified:
            raise FlowError("session_expired", "no question is being asked")
        strikes = lockout.of_record(record)
        if lockout.is_locked(strikes, security, now):
            step.failed("locked out by pwreset")
        lockout.check(strikes, security, now)
        number = case.question + 1
        if not questions.verify_answer(answer, enrolled[case.question]["h"]):
            if lockout.repeated(strikes, security, now, wrong):
                step.failed(f"wrong answer to question {number}, given before: not counted again")
            else:
                _count_wrong(desk, record, f"wrong answer to question {number}", wrong)
            raise FlowError("wrong_answer")
        answered = (*case.answered, case.question)
        if len(answered) < _needed(ctx, record):
            desk.case = replace(case, answered=answered, question=_next_question(record, answered))
            return desk.reply()
        # Verified: the count of wrong answers starts again, as after a reset page's questions.
        lockout.release(record)
        ctx.db.users.save(record)
    step.succeeded(f"caller verified by the help desk with {len(answered)} answers")
    desk.case = replace(case, answered=answered, question=-1, verified="answers")
    return desk.reply()


def unlock(ctx: FlowContext, request: Request) -> Mapping[str, Any]:
    """Clear the directory's lockout of the verified caller."""
    desk = _verified(ctx, request)
    _directory_write(desk, "unlock", UNLOCKED, lambda: desk.directory.unlock(desk.user))
    desk.step.alert("unlock", Outcome.SUCCESS, desk.step.recipient(desk.user, desk.record))
    return desk.reply(done="unlocked", directory_locked=False)


def lift_lockout(ctx: FlowContext, request: Request) -> Mapping[str, Any]:
    """Lift pwreset's own lockout of the verified caller and forget their wrong answers."""
    desk = _verified(ctx, request)
    case = desk.case
    lifted = release_lockout(
        ctx.db.users, ctx.decoy_strikes, ctx.db.audit, case.domain, case.username, case.agent,
        source=SOURCE, event=LIFTED_EVENT, ip=desk.step.request.client_ip,
    )  # fmt: skip
    return desk.reply(done="lifted" if lifted else "not_locked")


def reset(ctx: FlowContext, request: Request) -> Mapping[str, Any]:
    """Reset the verified caller's password to a one-time password the server makes, to be
    changed at next logon (the directory skips that for a password that never expires), and
    clear the directory's lockout. The password is in this reply only: never logged, stored
    or audited."""
    desk = _verified(ctx, request)
    user, directory = desk.user, desk.directory
    policy = ctx.password_policy(directory)
    password = one_time_password(policy, names_of(user))

    def write() -> None:
        # No history or minimum age: an administrator's reset, to a password nobody chose.
        directory.reset_password(user, password, must_change=True, enforce_history=False)

    must_change = not user.password_never_expires
    _directory_write(desk, "reset", RESET_DONE if must_change else RESET_DONE_NO_CHANGE, write)
    desk.step.alert("reset", Outcome.SUCCESS, desk.step.recipient(user, desk.record))
    log.info("help desk reset: user=%s domain=%s by=%s", user.username, directory.name,
             desk.case.agent)  # fmt: skip
    return desk.reply(done="reset", password=password, must_change=must_change,
                      directory_locked=False)  # fmt: skip


OPERATIONS: dict[str, Callable[[FlowContext, Request], Mapping[str, Any]]] = {
    OPEN: open_case,
    SEND_CODE: send_code,
    CHECK_CODE: check_code,
    CHECK_ANSWER: check_answer,
    UNLOCK: unlock,
    LIFT: lift_lockout,
    RESET: reset,
}


# --- the case ------------------------------------------------------------------------------


def _step(ctx: FlowContext, request: Request, domain: str, username: str, agent: str) -> Step:
    """The audit rows' writer: the agent as web user, the agent's browser as the address
    (both proved with the request)."""
    ip = text(request.body, "ip", required=False)
    as_agent = replace(request, client_ip=ip, body={**request.body, "web_user": agent})
    # The agent's language: the question is shown in it (the alerts go in the caller's).
    return Step(ctx, as_agent, SOURCE, domain, username, lang_of(request))


def _desk(ctx: FlowContext, request: Request) -> Desk:
    """The request's case: proved, sealed by this server, the agent's own and not too old;
    the caller read again from the directory."""
    body = proven(ctx, request, "case", "by")
    case = Case.opened_from(body["case"], ctx.admin_key)
    minutes = ctx.config.console.helpdesk_case_minutes
    if case.agent != body["by"] or ctx.clock() - case.opened > minutes * 60:
        raise FlowError("session_expired", "the case has ended: open it again")
    directory = ctx.directories.get(case.domain)
    if directory is None:
        raise FlowError("session_expired", "the domain is no longer configured")
    user = directory.find_user(case.username)
    if user is None:
        raise FlowError("session_expired", "the account is gone")
    step = _step(ctx, request, case.domain, user.username, case.agent)
    return Desk(ctx, step, case, directory, user)


def _verified(ctx: FlowContext, request: Request) -> Desk:
    """The case of a write: refused, and audited, unless the caller was verified."""
    desk = _desk(ctx, request)
    if not desk.case.verified:
        desk.step.failed(NOT_VERIFIED)
        raise FlowError("not_permitted", "verify the caller first")
    # Right before the write: a user moved into an excluded group meanwhile is refused.
    if not permitted(desk.directory, desk.user, ctx.config.enroll.permission):
        desk.step.failed("not permitted")
        raise FlowError("not_permitted", "the user may not use pwreset")
    return desk


def _directory_write(desk: Desk, op: str, done: str, write: Callable[[], None]) -> None:
    """The directory write, noted first so that a kill before its audit row cannot hide it
    (see `pending`), then audited as `done`."""
    ctx, user = desk.ctx, desk.user
    row = (SOURCE, done)
    with pending.noted(ctx.db, op, desk.case.domain, user, user.username, ctx.clock(), row=row):
        try:
            write()
        except DirectoryError as exc:
            desk.step.failed(f"refused by the directory ({exc.code})")
            raise
        desk.step.succeeded(done)


def _record(desk: Desk) -> UserRecord:
    record = desk.record
    if record is None:
        raise FlowError("session_expired", "the enrollment is gone")
    return record


def _count_wrong(desk: Desk, record: UserRecord, what: str, answer: str = "") -> None:
    """Count a wrong answer (its print `answer`) or code toward the caller's lockout, as the
    reset page does, with the lockout alert at the threshold (the caller holds the lock)."""
    ctx, step = desk.ctx, desk.step
    locked_now = lockout.fail_record(record, ctx.config.security, ctx.clock(), answer)
    ctx.db.users.save(record)
    step.failed(what)
    if locked_now:
        step.failed(f"locked out after {record.wrong_answers} wrong answers")
        step.alert("lockout", Outcome.SUCCESS, step.recipient(desk.user, record))
        raise FlowError("locked_out")


def _code_only(ctx: FlowContext, record: UserRecord | None) -> bool:
    """Auto-enrolled (verified by a code alone), while auto-enrollment is on: as on the
    reset page, such a user is enrolled only then."""
    verification = ctx.config.verification
    auto = verification.enabled and verification.auto_enroll
    return bool(record and record.auto_enrolled and auto)


def _needed(ctx: FlowContext, record: UserRecord | None) -> int:
    return min(ctx.config.console.helpdesk_answers, len(enrolled_questions(record)))


def _next_question(record: UserRecord | None, answered: tuple[int, ...]) -> int:
    """A question not answered yet, chosen at random: the agent cannot pick the one a
    caller who is not who they claim happens to know."""
    left = [i for i in range(len(enrolled_questions(record))) if i not in answered]
    return secrets.choice(left) if left else -1


def _prompt(ctx: FlowContext, record: UserRecord | None, index: int, lang: str) -> str:
    enrolled = enrolled_questions(record)
    if not 0 <= index < len(enrolled):
        return ""
    return questions.prompt(ctx.config.enroll, enrolled[index], lang)
