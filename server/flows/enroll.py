"""Enroll: prove the current password, then store the chosen questions and hashed answers
(`enroll`), or open an enroll session (`enroll.start`) in which the factors enroll their
parts one action at a time (`enroll.factor`, dispatched through the factor registry)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from pwreset.config.flow_settings import EnrollSettings
from pwreset.protocol.limits import FIELD_LIMITS
from pwreset.protocol.messages import Request
from pwreset.server.directory.base import Directory, DirectoryError, DirectoryUser
from pwreset.server.flows import lockout, pending
from pwreset.server.flows.context import FlowContext, Outcome, Step, lang_of, log, permitted
from pwreset.server.flows.errors import FlowError
from pwreset.server.flows.factors import policy
from pwreset.server.flows.factors.base import KINDS, EnrollStep
from pwreset.server.flows.factors.registry import ENROLL_ACTIONS, refresh_kinds
from pwreset.server.flows.fields import text, texts
from pwreset.server.flows.questions import hash_answer, question_id, significant_chars
from pwreset.server.flows.tokens import BadToken, EnrollSession
from pwreset.server.storage import UserRecord

_EMAIL = re.compile(r"^[^@\s;,<>\"]+@[^@\s;,<>\"]+\.[^@\s;,<>\"]+$")


def enroll(ctx: FlowContext, request: Request) -> Mapping[str, Any]:
    site = ctx.site(request, "enroll")
    if not policy.questions_on(ctx.config, request.vdir):
        raise FlowError("factor_not_offered", "security questions are switched off here")
    body = texts(request.body, "domain", "username", "password")
    directory = ctx.directory(site, body["domain"])
    settings = ctx.config.enroll
    step = Step(ctx, request, "enroll", directory.name, body["username"], lang_of(request))
    email = _email(request.body, settings)
    pairs = _answers(request.body.get("answers"), settings)
    user = _prove_password(step, directory, body["password"])
    # Hashed before taking the user's lock: the lock covers only the read-modify-write.
    enrolled = [
        {"q": q, "id": question_id(settings, q, step.lang), "h": hash_answer(a)} for q, a in pairs
    ]
    with ctx.db.users.locked(directory.name, user.username):
        record = ctx.db.users.get(directory.name, user.username) or UserRecord(
            domain=directory.name, username=user.username
        )
        # The position in the lists too, so the question is shown in the page's language;
        # the other factors enrolled stay.
        record.enrollment = {**(record.enrollment or {}), "v": 1, "questions": enrolled}
        record.email = email
        _copy_contacts(record, user, settings)
        record.language = step.lang
        # Re-enrolling (the current password proven) lifts pwreset's lockout.
        lockout.release(record)
        record.auto_enrolled = False
        record.code = None
        record.missing_since = None
        record.last_enroll = ctx.clock()
        refresh_kinds(record)
        ctx.db.users.save(record)
    step.succeeded("enrolled")
    log.info("enroll done: user=%s domain=%s", user.username, directory.name)
    step.alert("enroll", Outcome.SUCCESS, step.recipient(user, record))
    return {"status": "done", "message": "RES_FINISHED_ENROLL"}


def start(ctx: FlowContext, request: Request) -> Mapping[str, Any]:
    """Prove the password as `enroll` does and open an enroll session: its token, the kinds
    the user has, those the policy needs them to add, and those the site offers."""
    site = ctx.site(request, "enroll")
    body = texts(request.body, "domain", "username", "password")
    directory = ctx.directory(site, body["domain"])
    step = Step(ctx, request, "enroll", directory.name, body["username"], lang_of(request))
    user = _prove_password(step, directory, body["password"])
    now = ctx.clock()
    session = EnrollSession(request.vdir, directory.name, user.username, step.lang, now)
    record = ctx.db.users.get(directory.name, user.username)
    has = list(record.factors) if record else []
    rules = policy.for_user(ctx.config, request.vdir, "enrolled", directory, user)
    step.succeeded(pending.SESSION_STARTED)
    return {
        "enroll": ctx.tokens.seal_enroll(session),
        "has": has,
        "needs": _needs(rules, has),
        "offer": list(rules.offer),
    }


def _needs(rules: policy.Policy, has: Sequence[str]) -> list[str]:
    """The kinds the user must still add for `rules` to be met, given the kinds they have."""
    # A code needs nothing enrolled of its own: it goes where codes go once the user has
    # enrolled anything, so it is never asked for.
    return rules.needs([*has, "code"] if "code" in rules.offer else has)


def factor(ctx: FlowContext, request: Request) -> Mapping[str, Any]:
    """One action of an enroll session (`totp.begin`, `passkey.finish`, ...), by the factor
    that registered it, for the session's user if they may still enroll."""
    ctx.site(request, "enroll")
    now = ctx.clock()
    try:
        session = ctx.tokens.open_enroll(text(request.body, "enroll"), request.vdir, now)
    except BadToken:
        raise FlowError("session_expired", "the enroll session is not valid") from None
    name = text(request.body, "action")
    action = ENROLL_ACTIONS.get(name)
    if action is None:
        raise FlowError("bad_request", "unknown enroll action")
    # Enroll adds only kinds the site offers; those the user holds may still be listed,
    # renamed and removed after the site stopped offering them.
    kind, _, verb = name.partition(".")
    offer = policy.site_policy(ctx.config, request.vdir, "enrolled").offer
    if kind in KINDS and kind not in offer and verb not in ("list", "remove", "rename"):
        raise FlowError("factor_not_offered", f"this site does not offer {kind}")
    directory = ctx.directories.get(session.domain)
    user = directory.find_user(session.username) if directory else None
    if directory is None or user is None:
        raise FlowError("session_expired", "the account is gone")
    step = EnrollStep(ctx, request, "enroll", directory.name, user.username, session.lang,
                      directory, now)  # fmt: skip
    # Moved into an excluded group since the session started: refused from now on.
    if not permitted(directory, user, ctx.config.enroll.permission):
        step.failed(_failure_text("not_permitted"))
        raise FlowError("not_permitted")
    reply = action(step)
    if "factors" not in reply:
        return reply
    # The kinds changed: what the policy still needs, so the page can say it.
    rules = policy.for_user(ctx.config, request.vdir, "enrolled", directory, user)
    return {**reply, "needs": _needs(rules, reply["factors"])}


def _prove_password(step: Step, directory: Directory, password: str) -> DirectoryUser:
    """The account `step` names, once its password is proven and it may enroll; a failure
    is audited and alerted to the account's owner."""
    try:
        user = directory.authenticate(step.username, password)
        if not permitted(directory, user, step.ctx.config.enroll.permission):
            raise DirectoryError("not_permitted")
    except DirectoryError as exc:
        step.failed(_failure_text(exc.code))
        step.alert_failure(directory)
        raise
    step.username = user.username
    return user


def _failure_text(code: str) -> str:
    return {
        "wrong_password": "wrong password",
        "account_locked": "account locked in the directory",
        "account_disabled": "account disabled",
        "not_permitted": "not permitted to enroll",
    }.get(code, f"refused by the directory ({code})")


def _copy_contacts(record: UserRecord, user: DirectoryUser, settings: EnrollSettings) -> None:
    """The directory's mail and mobile, where the admin allows it, become the enrolled
    contacts: read only now that the password is proven. A contact the entry lacks is not
    marked copied, so codes keep going where they went without the setting."""
    wanted = settings.contacts_from_directory
    copied: list[str] = []
    if "email" in wanted and user.email:
        record.email = user.email
        copied.append("email")
    record.phone = user.phone if "phone" in wanted else ""
    if record.phone:
        copied.append("phone")
    record.copied_contacts = tuple(copied)


def _email(body: Mapping[str, Any], settings: EnrollSettings) -> str:
    # The directory's address replaces a typed one: the page does not ask for it then.
    if settings.email == "off" or "email" in settings.contacts_from_directory:
        return ""
    value = text(body, "email", required=settings.email == "required").strip()
    if value and not _EMAIL.match(value):
        raise FlowError("invalid_email", "the e-mail address is not valid", field="email")
    return value


def _answers(raw: object, settings: EnrollSettings) -> list[tuple[str, str]]:
    """The (question, answer) pairs, checked the way the enroll page checks them; a
    question from any configured language's list is accepted."""
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise FlowError("bad_request", "answers must be a list")
    if len(raw) != settings.questions:
        raise FlowError("bad_request", f"exactly {settings.questions} answers are needed")
    allowed = {q for questions in settings.question_list.values() for q in questions}
    pairs: list[tuple[str, str]] = []
    for number, item in enumerate(raw, start=1):
        if not isinstance(item, Mapping):
            raise FlowError("bad_request", "each answer is an object with question and answer")
        question = item.get("question")
        answer = item.get("answer")
        if not isinstance(question, str) or not question.strip():
            raise FlowError("empty_field", f"question {number} is empty", field="question",
                            **{"1": str(number)})  # fmt: skip
        question = question.strip()
        if len(question) > (most := FIELD_LIMITS["question"]):
            raise FlowError("field_too_long", f"a question may have {most} characters",
                            field="question")  # fmt: skip
        _check_kind(settings, number, question in allowed)
        if not isinstance(answer, str) or len(answer) > FIELD_LIMITS["answer"]:
            raise FlowError("bad_request", f"answer {number} must be a string")
        for earlier, (seen, _) in enumerate(pairs, start=1):
            if seen.casefold() == question.casefold():
                raise FlowError(
                    "identical_questions",
                    f"questions {earlier} and {number} are the same",
                    **{"1": str(earlier), "2": str(number)},
                )
        if significant_chars(answer) < settings.min_answer_chars:
            raise FlowError(
                "answer_too_short",
                f"answer {number} needs at least {settings.min_answer_chars} letters or digits",
                **{"1": str(number), "2": str(settings.min_answer_chars)},
            )
        pairs.append((question, answer))
    return pairs


def _check_kind(settings: EnrollSettings, number: int, listed: bool) -> None:
    """Question `number` picked from the lists where it must be, and, where the admin set
    that one question (not all) to be typed, one of the user's own (apr checklist 28)."""
    typed = settings.typed(number - 1)
    if not typed and not listed:
        raise FlowError("unknown_question", f"question {number} is not in the list",
                        **{"1": str(number)})  # fmt: skip
    # `custom_questions = true` lets users type anything, a listed question too (as before);
    # a list of slots asks for the user's own question where it says true.
    if typed and listed and isinstance(settings.custom_questions, list):
        raise FlowError("own_question_required", f"question {number} must be typed",
                        **{"1": str(number)})  # fmt: skip
