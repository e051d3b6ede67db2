"""Reset and Unlock: identify → the factors the policy asks for (server/flows/factors: the
mandatory ones in turn, then the user's choice among those the site offers) → new password
(reset) or unlock.

Unknown and unenrolled users walk the same steps with decoy factors that can never be
proven, and get the same replies with the same amount of work, so nobody learns who
exists or who enrolled: what is offered is the site's, never the user's. Each request is one
`Recovery`: the flow's state from its token, the directory, and the account its audit rows
name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pwreset.protocol.messages import Request
from pwreset.server.directory.base import Directory, DirectoryError, DirectoryUser
from pwreset.server.flows import lockout, pending, recovery_cap
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
from pwreset.server.flows.factors import policy
from pwreset.server.flows.factors.base import NothingToAsk
from pwreset.server.flows.factors.registry import FACTORS
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
        step="factor",
        index=0,
        total=0,
        lang=lang_of(request),
        flow_id=new_flow_id(),
        started=now,
        touched=now,
    )
    recovery = Recovery.of(ctx, request, state, directory, now)
    recovery.refuse_if_blocked()
    recovery.user = user
    return recovery.start(record)


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
    recovery.refuse_if_blocked()
    if state.step == "choose":
        return recovery.choose()
    if state.step == "factor":
        return recovery.check()
    return recovery.password()


@dataclass
class Recovery(Step):
    """One request of a reset or unlock. `state` is what its reply's token will carry; the
    audit names the account as the directory spells it once it has been read. The factors
    (server/flows/factors) ask and check through it."""

    state: FlowState
    directory: Directory
    now: float
    user: DirectoryUser | None = None  # the account, once read

    @classmethod
    def of(
        cls, ctx: FlowContext, request: Request, state: FlowState, directory: Directory, now: float
    ) -> Recovery:
        return cls(ctx, request, state.kind, state.domain, state.username, state.lang,
                   state, directory, now)  # fmt: skip

    # --- start ----------------------------------------------------------------------------------

    def start(self, record: UserRecord | None) -> Mapping[str, Any]:
        ctx, state, now = self.ctx, self.state, self.now
        mode = "decoy"
        if self.user is not None and record is not None and _enrolled(ctx, record):
            if lockout.is_locked(lockout.of_record(record), ctx.config.security, now):
                self.failed("locked out by pwreset")
                raise FlowError("locked_out")
            if record.enrollment is not None and not record.auto_enrolled:
                mode = "enrolled"
        if mode == "decoy" and self.user is not None and _may_auto_enroll(ctx, record):
            mode = "auto"
        if mode == "decoy":
            self.decoy_locked()
        offer = policy.site_policy(ctx.config, state.site, mode).offer
        self.state = state.advance(now, mode=mode, offer=offer)
        return self._next()

    # --- factors --------------------------------------------------------------------------------

    def refuse_if_blocked(self) -> None:
        """Refuse every request while a blocking condition holds (where from, when): the
        same for every name."""
        if policy.blocked(self.ctx.config.factors, self.request.client_ip, self.now):
            self.failed("self-service blocked by a condition")
            raise FlowError("self_service_blocked")

    def _policy(self) -> policy.Policy:
        """The site's policy until a factor is proven; then the user's (their group's, the
        admin groups' rule), raised by the conditions that hold."""
        config, state = self.ctx.config, self.state
        if not state.proven:
            return policy.site_policy(config, state.site, state.mode)
        user = self.directory_user()
        rules = policy.for_user(config, state.site, state.mode, self.directory, user)
        return policy.with_conditions(rules, config.factors, self.request.client_ip, self.now)

    def _next(self) -> Mapping[str, Any]:
        """After the start or a proven factor: done if the policy is met, else the next
        mandatory factor, the one factor left, or the choice of those left."""
        state = self.state
        rules = self._policy()
        if state.proven and rules.met(state.proven):
            return self._verified(self.now)
        # Once a factor is proven the user's policy is known: a kind it gives no weight
        # (questions, for an admin group) is no longer offered.
        left = [
            kind
            for kind in state.offer
            if kind not in state.proven
            and (not state.proven or rules.weights.get(kind, 1) > 0 or kind in rules.mandatory)
        ]
        mandatory = [kind for kind in rules.mandatory if kind in left]
        if mandatory:
            return self._ask(mandatory[0])
        if len(left) == 1:
            return self._ask(left[0])
        if not left:
            self.failed("the factors proven do not meet the policy")
            raise FlowError("policy_not_met")
        self.state = state.advance(self.now, step="choose", factor="", index=0, total=0)
        return self._reply({"kind": "choose", "factors": left})

    def choose(self) -> Mapping[str, Any]:
        """The user picked the kind of factor to prove next, among those offered."""
        kind = text(self.request.body, "factor")
        if kind not in self.state.offer or kind in self.state.proven:
            raise FlowError("factor_not_offered", "that factor is not offered here")
        return self._ask(kind)

    def _ask(self, kind: str) -> Mapping[str, Any]:
        self._refuse_switched_off(kind)
        factor = FACTORS.get(kind)
        if factor is None:  # offered by a server that knew more kinds
            raise FlowError("session_expired", "the factor is no longer offered")
        self.state = self.state.advance(self.now, step="factor", factor=kind, index=0, total=0)
        record = None
        if self.state.mode != "decoy":
            record = self.ctx.db.users.get(self.state.domain, self.state.username)
        try:
            return self._reply(factor.ask(self, record))
        except NothingToAsk as skipped:
            self.succeeded(skipped.why)
            return self._proven(kind)

    def check(self) -> Mapping[str, Any]:
        """The answer to the current factor's step, checked under the user's lock (parallel
        tries are counted one after the other, each waiting for the slowdown the one before
        it earned: security review 3 and 7)."""
        state = self.state
        factor = FACTORS.get(state.factor)
        if factor is None:
            raise FlowError("session_expired", "the factor is no longer offered")
        self._refuse_switched_off(state.factor)
        with self.ctx.db.users.locked(state.domain, state.username):
            record = None if state.mode == "decoy" else self.live_record(self.now)
            following = factor.check(self, record)
        if following is not None:
            return self._reply(following)
        return self._proven(state.factor)

    def _refuse_switched_off(self, kind: str) -> None:
        """Questions switched off since the flow started are asked and checked no more."""
        if kind == "questions" and not policy.questions_on(self.ctx.config, self.state.site):
            raise FlowError("factor_not_offered", "security questions are switched off")

    def _proven(self, kind: str) -> Mapping[str, Any]:
        self.state = self.state.advance(self.now, proven=(*self.state.proven, kind))
        return self._next()

    # --- the outcome ----------------------------------------------------------------------------

    def _verified(self, now: float) -> Mapping[str, Any]:
        """Identity proved: unlock now, or ask for the new password; refused when the user
        has reset or unlocked as often as the cap allows (told only now, see recovery_cap)."""
        self._check_cap(self.live_record(now), now)
        if self.state.kind == "unlock":
            return self._unlock(now)
        # Only a user who proved who they are gets here (a decoy never does): the names
        # rule may list their names.
        user = self.directory_user()
        policy = self.ctx.password_policy(self.directory).describe(names_of(user))
        self.state = self.state.advance(now, step="password")
        return self._reply({"kind": "password", "policy": policy})

    def password(self) -> Mapping[str, Any]:
        state, now = self.state, self.now
        new_password = text(self.request.body, "new_password")
        record = self.live_record(now)
        if record.last_reset is not None and record.last_reset >= state.started:
            raise FlowError("session_expired", "this flow was already used")
        user = self.directory_user()
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
        self.live_record(now)
        user = self.directory_user()
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
                record = self.live_record(ctx.clock())
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
            record = self.live_record(now)
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

    def count_failure(self, record: UserRecord, what: str, answer: str = "") -> None:
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

    def decoy_locked(self) -> None:
        """Refuse a decoy locked out as an enrolled user would be, audited as for them."""
        strikes = self.ctx.decoy_strikes.get(self.state.domain, self.state.username)
        if lockout.is_locked(strikes, self.ctx.config.security, self.now):
            self.failed("locked out by pwreset")
            raise FlowError("locked_out")

    def decoy_check(self, *, counted: bool) -> None:
        """A decoy is refused as an enrolled user would be: while locked out and, if its
        tries count, while slowed down (the caller holds the user's lock)."""
        strikes = self.ctx.decoy_strikes.get(self.state.domain, self.state.username)
        if lockout.is_locked(strikes, self.ctx.config.security, self.now):
            raise FlowError("locked_out")
        if counted:
            lockout.check(strikes, self.ctx.config.security, self.now)

    def decoy_failure(self, what: str, answer: str = "") -> None:
        """Audit a decoy's wrong try and count it (see decoy_count)."""
        self.failed(what)
        self.decoy_count(answer)

    def decoy_count(self, answer: str = "") -> None:
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

    def live_record(self, now: float) -> UserRecord:
        record = self.ctx.db.users.get(self.state.domain, self.state.username)
        if record is None:
            raise FlowError("session_expired", "the enrollment is gone")
        if lockout.is_locked(lockout.of_record(record), self.ctx.config.security, now):
            raise FlowError("locked_out")
        return record

    def directory_user(self) -> DirectoryUser:
        """The flow's account, read once per request."""
        user = self.user or self.directory.find_user(self.state.username)
        if user is None:
            raise FlowError("session_expired", "the account is gone")
        self.user = user
        self.username = user.username
        return user

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
