"""Reset and Unlock: identify → each enrolled question → optional code → new password
(reset) or unlock.

Unknown and unenrolled users walk the same steps with decoy questions that can never be
answered, and get the same replies with the same amount of work, so nobody learns who
exists or who enrolled. Each request is one `Recovery`: the flow's state from its token,
the directory, and the account its audit rows name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pwreset.protocol.messages import Request
from pwreset.server.directory.base import Directory, DirectoryError, DirectoryUser
from pwreset.server.flows import codes, lockout, pending, questions, recovery_cap
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
from pwreset.server.flows.fields import text, texts
from pwreset.server.flows.tokens import BadToken, FlowState, new_flow_id
from pwreset.server.notify import Recipient
from pwreset.server.passwords.rules import MIN_AGE
from pwreset.server.storage import UserRecord

_DONE = {"reset": "RES_FINISHED_RESET", "unlock": "RES_FINISHED_UNLOCK"}


def start(ctx: FlowContext, request: Request, kind: str) -> Mapping[str, Any]:
    site = ctx.site(request, kind)
    body = texts(request.body, "domain", "username")
    directory = ctx.directory(site, body["domain"])
    typed = body["username"].strip()
    user = directory.find_user(typed)
    if user is not None and not permitted(directory, user, ctx.config.enroll.permission):
        user = None  # excluded: shown what an unknown user is shown (security review 4)
    record = ctx.db.users.get(directory.name, user.username) if user else None
    now = ctx.clock()
    # A decoy goes by the name the directory looked up, as an existing user does.
    name = (
        user.username if user else lockout.directory_name(typed, ctx.config.domain(directory.name))
    )
    state = FlowState(
        kind=kind,
        site=request.vdir,
        domain=directory.name,
        username=name,
        mode="decoy",
        step="question",
        index=0,
        total=ctx.config.enroll.questions,
        lang=lang_of(request),
        flow_id=new_flow_id(),
        started=now,
        touched=now,
    )
    return Recovery.of(ctx, request, state, directory, now).start(user, record)


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
    recovery = Recovery.of(ctx, request, state, directory, now)
    if state.step == "question":
        return recovery.answer()
    if state.step == "code":
        return recovery.code()
    return recovery.password()


@dataclass
class Recovery(Step):
    """One request of a reset or unlock. `state` is what its reply's token will carry; the
    audit names the account as the directory spells it once it has been read."""

    state: FlowState
    directory: Directory
    now: float

    @classmethod
    def of(
        cls, ctx: FlowContext, request: Request, state: FlowState, directory: Directory, now: float
    ) -> Recovery:
        return cls(ctx, request, state.kind, state.domain, state.username, state.lang,
                   state, directory, now)  # fmt: skip

    # --- start ----------------------------------------------------------------------------------

    def start(self, user: DirectoryUser | None, record: UserRecord | None) -> Mapping[str, Any]:
        ctx, state, now = self.ctx, self.state, self.now
        security = ctx.config.security
        if user is not None and record is not None and _enrolled(ctx, record):
            if lockout.is_locked(lockout.of_record(record), security, now):
                self.failed("locked out by pwreset")
                raise FlowError("locked_out")
            if record.enrollment and not record.auto_enrolled:
                enrolled = record.enrollment["questions"]
                self.state = state.advance(now, mode="questions", total=len(enrolled))
                return self._question(questions.prompt(ctx.config.enroll, enrolled[0], self.lang))
        if user is not None and _may_auto_enroll(ctx, record):
            auto = state.advance(now, mode="auto", step="code", total=0)
            shown = codes.send_code(self, auto, user, record, after_reply=True)
            if shown is not None:
                self.state = auto
                return self._reply({"kind": "code", "destinations": shown})
            # Nowhere to send a code: answered as an unknown name is, since nothing is proven.
            self.failed("no address or phone to send a code to")
        # A decoy from here on: locked out like an enrolled user would be.
        if lockout.is_locked(ctx.decoy_strikes.get(state.domain, state.username), security, now):
            self.failed("locked out by pwreset")
            raise FlowError("locked_out")
        verification = ctx.config.verification
        if verification.enabled and verification.auto_enroll:
            # Users who could auto-enroll go straight to a code: so do decoys.
            self.state = state.advance(now, step="code", total=0)
            domain = ctx.config.domain(state.domain)
            mail_domain = domain.effective_mail_domain() if domain else ""
            shown = ctx.decoys.destinations(state.domain, state.username, mail_domain, verification)
            questions.burn_time_like_a_check()
            # A decoy code with the same limits and wrong tries as a real user's.
            with ctx.db.users.locked(state.domain, state.username):
                ctx.limits.issue_decoy(ctx.db.keyed, verification, state.domain, state.username,
                                       state.flow_id, now)  # fmt: skip
            return self._reply({"kind": "code", "destinations": shown})
        settings = ctx.config.enroll
        size = len(settings.question_list["en"])
        first = ctx.decoys.question_ids(state.domain, state.username, size, state.total)[0]
        return self._question(questions.prompt_at(settings, first, self.lang) or "")

    # --- questions ------------------------------------------------------------------------------

    def answer(self) -> Mapping[str, Any]:
        ctx, state, now = self.ctx, self.state, self.now
        answer = text(self.request.body, "answer")
        # One user's answers are checked one at a time: parallel guesses are each counted,
        # and each waits for the slowdown the one before it earned (security review 7).
        # The same wrong answer again is not counted again, for decoys as for the enrolled.
        wrong = ctx.answer_prints.of(state.domain, state.username, state.index, answer)
        with ctx.db.users.locked(state.domain, state.username):
            if state.mode == "decoy":
                self._decoy_check(counted=True)
                questions.burn_time_like_a_check()
                self.failed("not enrolled")
                self._decoy_count(wrong)
                raise FlowError("wrong_answer")
            record = self._live_record(now)
            lockout.check(lockout.of_record(record), ctx.config.security, now)
            enrolled = (record.enrollment or {}).get("questions") or []
            if state.index >= len(enrolled):
                raise FlowError("session_expired")
            if not questions.verify_answer(answer, enrolled[state.index]["h"]):
                n = state.index + 1
                if lockout.repeated(lockout.of_record(record), ctx.config.security, now, wrong):
                    self.failed(f"wrong answer to question {n}, given before: not counted again")
                else:
                    self._count_failure(record, f"wrong answer to question {n}", wrong)
                raise FlowError("wrong_answer")
            following = state.index + 1
            if following < len(enrolled):
                self.state = state.advance(now, index=following)
                prompt = questions.prompt(ctx.config.enroll, enrolled[following], self.lang)
                return self._question(prompt)
            # Every question answered: the count of wrong answers starts again.
            lockout.release(record)
            ctx.db.users.save(record)
        if not ctx.config.verification.enabled:
            return self._verified(now)
        user = self._directory_user()
        self.state = state.advance(now, step="code")
        shown = codes.send_code(self, self.state, user, record)
        if shown is not None:
            return self._reply({"kind": "code", "destinations": shown})
        if ctx.config.verification.fallback_without_code and state.mode != "auto":
            self.succeeded("no code could be sent; continued without one")
            return self._verified(ctx.clock())
        self.failed("code could not be sent")
        raise FlowError("code_not_sent")

    # --- verification codes ---------------------------------------------------------------------

    def code(self) -> Mapping[str, Any]:
        ctx, state, now = self.ctx, self.state, self.now
        typed = text(self.request.body, "code")
        settings = ctx.config.verification
        # Under the user's lock: parallel tries are counted one after the other, so no more
        # than max_code_attempts of them are ever checked (security review 3).
        with ctx.db.users.locked(state.domain, state.username):
            if state.mode == "decoy":
                self._decoy_check(counted=settings.lockout_on_wrong_code)
                verdict = ctx.limits.try_decoy(
                    ctx.db.keyed, settings, state.domain, state.username, typed, state.flow_id, now
                )
                if settings.lockout_on_wrong_code:
                    self._decoy_count()
                raise FlowError("code_dead" if verdict == "dead" else "wrong_code")
            record = self._live_record(now)
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
                    self._count_failure(record, what)
                else:
                    ctx.db.users.save(record)
                    self.failed(what)
                raise FlowError("code_dead" if verdict == "dead" else "wrong_code")
            if record.code is not None and codes.expired(record.code, settings, now):
                self.failed("code expired")
                raise FlowError("code_expired")
            record.code = None  # single use
            if state.mode == "auto" and record.last_enroll is None:
                record.last_enroll = now
                # The code proved the mailbox: this user's language, not an earlier start's.
                record.language = state.lang
                self.succeeded("auto-enrolled")
            ctx.db.users.save(record)
        return self._verified(now)

    # --- the outcome ----------------------------------------------------------------------------

    def _verified(self, now: float) -> Mapping[str, Any]:
        """Identity proved: unlock now, or ask for the new password; refused when the user
        has reset or unlocked as often as the cap allows (told only now, see recovery_cap)."""
        self._check_cap(self._live_record(now), now)
        if self.state.kind == "unlock":
            return self._unlock(now)
        # Only a user who proved who they are gets here (a decoy never does): the names
        # rule may list their names.
        user = self._directory_user()
        policy = self.ctx.password_policy(self.directory).describe(names_of(user))
        self.state = self.state.advance(now, step="password")
        return self._reply({"kind": "password", "policy": policy})

    def password(self) -> Mapping[str, Any]:
        state, now = self.state, self.now
        new_password = text(self.request.body, "new_password")
        record = self._live_record(now)
        if record.last_reset is not None and record.last_reset >= state.started:
            raise FlowError("session_expired", "this flow was already used")
        user = self._directory_user()
        if user.disabled:
            self._refused("account disabled")
            raise FlowError("account_disabled")
        security = self.ctx.config.security
        minimum = security.min_reset_age_days * 86400.0
        if security.enforce_directory_history:
            minimum = max(minimum, self.directory.min_password_age())
        last_set = user.password_set or record.last_reset
        if minimum and last_set is not None and now - last_set < minimum:
            self._refused("password too young")
            raise FlowError("password_too_young", rules=MIN_AGE)
        # Minimum age was checked just above, with the reset's own setting.
        self.check_new_password(
            self.directory, new_password, names_of(user), directory_rules=not user.own_policy
        )

        def reset() -> None:
            self.directory.reset_password(
                user,
                new_password,
                must_change=security.must_change_after_reset,
                enforce_history=security.enforce_directory_history,
            )

        return self._write(user, reset, "password reset", last_reset=now)

    def _unlock(self, now: float) -> Mapping[str, Any]:
        self._live_record(now)
        user = self._directory_user()
        return self._write(
            user, lambda: self.directory.unlock(user), "account unlocked", last_unlock=now
        )

    def _write(
        self, user: DirectoryUser, write: Callable[[], None], what: str, **done: float
    ) -> Mapping[str, Any]:
        """The directory write that ends the flow, noted first (see `pending`); then the
        record, the audit and the alert. The alert goes in the language the user enrolled
        with: the page's was chosen by whoever asked (security review 12)."""
        ctx, state = self.ctx, self.state
        # Right before the write: a user moved into an excluded group mid-flow is refused.
        if not permitted(self.directory, user, ctx.config.enroll.permission):
            self._refused("not permitted")
            raise FlowError("not_permitted")
        taken = self._take_place(ctx.clock())
        with pending.noted(ctx.db, state.kind, state.domain, user, user.username, ctx.clock()):
            try:
                write()
            except DirectoryError as exc:
                self._give_back(taken)
                self._refused(f"refused by the directory ({exc.code})")
                raise
            with ctx.db.users.locked(state.domain, state.username):
                # Read again: wrong answers counted meanwhile by other flows must not be lost.
                record = self._live_record(ctx.clock())
                for name, value in done.items():
                    setattr(record, name, value)
                ctx.db.users.save(record)
            self.succeeded(what)
            log.info("%s done: user=%s domain=%s", state.kind, user.username, state.domain)
            self.alert(state.kind, Outcome.SUCCESS, self.recipient(user, record))
            return {"status": "done", "message": _DONE[state.kind]}

    def _take_place(self, now: float) -> float:
        """Count the reset or unlock about to be made under the cap, or refuse it: under the
        user's lock, before the write, so parallel flows cannot both take the last place."""
        users = self.ctx.db.users
        with users.locked(self.state.domain, self.state.username):
            record = self._live_record(now)
            self._check_cap(record, now)
            recovery_cap.take(record, self.ctx.config.security, now)
            users.save(record)
        return now

    def _give_back(self, taken: float) -> None:
        """The write counted at `taken` was not made: it does not count."""
        users = self.ctx.db.users
        with users.locked(self.state.domain, self.state.username):
            record = users.get(self.state.domain, self.state.username)
            if record is not None:
                recovery_cap.give_back(record, taken)
                users.save(record)

    def _check_cap(self, record: UserRecord, now: float) -> None:
        """Refuse a reset or unlock past `security.max_recoveries`: audited, with the flow's
        failure alert."""
        security = self.ctx.config.security
        wait = recovery_cap.wait(record, security, now)
        if wait > 0:
            cap, days = security.max_recoveries, security.recovery_window_days
            self._refused(f"recovery limit reached: {cap} resets and unlocks in {days} days")
            seconds = str(int(wait) + 1)
            raise FlowError(
                "recovery_limit",
                f"reset or unlocked {cap} times in {days} days; again in {seconds} seconds",
                retry_after=seconds,
            )

    def _refused(self, what: str) -> None:
        """Identity proved, the reset or unlock refused: audited, and the flow's failure
        alert. Wrong answers and codes send none: they are counted, and the lockout alert
        reports them at the threshold."""
        self.failed(what)
        self.alert_failure(self.directory)

    # --- counting wrong tries -------------------------------------------------------------------

    def _count_failure(self, record: UserRecord, what: str, answer: str = "") -> None:
        """Count a wrong answer (its print `answer`) or code in `record` (the caller holds
        the user's lock)."""
        locked_now = lockout.fail_record(record, self.ctx.config.security, self.now, answer)
        self.ctx.db.users.save(record)
        self.failed(what)
        if locked_now:
            self.failed(f"locked out after {record.wrong_answers} wrong answers")
            self.alert("lockout", Outcome.SUCCESS, self._lockout_recipient(record))
            raise FlowError("locked_out")

    def _lockout_recipient(self, record: UserRecord) -> Recipient:
        """The lockout alert's addressee with the directory's address and phone: without
        them it reaches nobody when enrollment asks for no address (security review 12)."""
        try:
            user = self.directory.find_user(self.state.username)
        except DirectoryError as exc:
            log.warning("lockout alert for %s: directory lookup failed (%s)",
                        self.state.username, exc.code)  # fmt: skip
            user = None
        return self.recipient(user, record)

    def _decoy_check(self, *, counted: bool) -> None:
        """A decoy is refused as an enrolled user would be: while locked out and, if its
        tries count, while slowed down (the caller holds the user's lock)."""
        strikes = self.ctx.decoy_strikes.get(self.state.domain, self.state.username)
        if lockout.is_locked(strikes, self.ctx.config.security, self.now):
            raise FlowError("locked_out")
        if counted:
            lockout.check(strikes, self.ctx.config.security, self.now)

    def _decoy_count(self, answer: str = "") -> None:
        """Count a decoy's wrong try (an answer's print `answer`, or a code) with the same
        durable write as an enrolled user's, and not a wrong answer given before, as for
        them; raises locked_out at the threshold (the caller holds the user's lock)."""
        security, strikes = self.ctx.config.security, self.ctx.decoy_strikes
        domain, name = self.state.domain, self.state.username
        before = strikes.get(domain, name)
        if answer and lockout.repeated(before, security, self.now, answer):
            return
        after = lockout.add(before, security, self.now, answer)
        strikes.put(domain, name, after)
        if lockout.is_locked(after, security, self.now):
            self.failed(f"locked out after {after.count} wrong answers (not enrolled)")
            raise FlowError("locked_out")

    # --- reading and replying -------------------------------------------------------------------

    def _live_record(self, now: float) -> UserRecord:
        record = self.ctx.db.users.get(self.state.domain, self.state.username)
        if record is None:
            raise FlowError("session_expired", "the enrollment is gone")
        if lockout.is_locked(lockout.of_record(record), self.ctx.config.security, now):
            raise FlowError("locked_out")
        return record

    def _directory_user(self) -> DirectoryUser:
        user = self.directory.find_user(self.state.username)
        if user is None:
            raise FlowError("session_expired", "the account is gone")
        self.username = user.username
        return user

    def _question(self, prompt: str) -> Mapping[str, Any]:
        state = self.state
        step = {"kind": "question", "index": state.index + 1, "total": state.total}
        return self._reply({**step, "prompt": prompt})

    def _reply(self, step: Mapping[str, Any]) -> Mapping[str, Any]:
        return {"flow": self.ctx.tokens.seal(self.state), "step": dict(step)}


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
