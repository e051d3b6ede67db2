"""A one-time code sent by e-mail or SMS as a factor (see `codes` for the code's state, its
send limits and where it goes). A decoy is shown addresses drawn for its name and a code
with the same limits and wrong tries as a real one, which nothing typed can match."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from pwreset.server.flows import codes, lockout, questions
from pwreset.server.flows.errors import FlowError
from pwreset.server.flows.factors.base import NothingToAsk
from pwreset.server.flows.fields import text
from pwreset.server.storage import UserRecord

if TYPE_CHECKING:
    from pwreset.server.flows.recovery import Recovery


class CodeFactor:
    kind: ClassVar[str] = "code"

    def has(self, record: UserRecord) -> bool:
        # Codes go to the enrolled address, else the directory's: every enrolled user.
        return record.enrollment is not None or record.auto_enrolled

    def _real(self, recovery: Recovery, record: UserRecord | None) -> bool:
        mode = recovery.state.mode
        return mode == "auto" or (mode != "decoy" and record is not None and self.has(record))

    def ask(self, recovery: Recovery, record: UserRecord | None) -> Mapping[str, Any]:
        state = recovery.state
        if self._real(recovery, record):
            user = recovery.directory_user()
            # Before anything is proven, sent after the reply (see codes.send_code).
            shown = codes.send_code(recovery, state, user, record, after_reply=not state.proven)
            if shown is not None:
                return {"kind": "code", "destinations": shown}
            if state.proven:
                verification = recovery.ctx.config.verification
                if verification.fallback_without_code and state.mode != "auto":
                    raise NothingToAsk("no code could be sent; continued without one")
                recovery.failed("code could not be sent")
                raise FlowError("code_not_sent")
            # Nothing proven and nowhere to send: answered as an unknown name is.
            recovery.failed("no address or phone to send a code to")
            recovery.state = state.advance(recovery.now, mode="decoy")
            recovery.decoy_locked()
        return self._decoy(recovery)

    def _decoy(self, recovery: Recovery) -> Mapping[str, Any]:
        ctx, state, now = recovery.ctx, recovery.state, recovery.now
        verification = ctx.config.verification
        domain = ctx.config.domain(state.domain)
        mail_domain = domain.effective_mail_domain() if domain else ""
        shown = ctx.decoys.destinations(state.domain, state.username, mail_domain, verification)
        questions.burn_time_like_a_check()
        # A decoy code with the same limits and wrong tries as a real user's.
        with ctx.db.users.locked(state.domain, state.username):
            ctx.limits.issue_decoy(ctx.db.keyed, verification, state.domain, state.username,
                                   state.flow_id, now,
                                   idle_timeout=ctx.config.security.idle_timeout)  # fmt: skip
        return {"kind": "code", "destinations": shown}

    def check(self, recovery: Recovery, record: UserRecord | None) -> Mapping[str, Any] | None:
        ctx, state, now = recovery.ctx, recovery.state, recovery.now
        typed = text(recovery.request.body, "code")
        settings = ctx.config.verification
        if record is None or not self._real(recovery, record):
            recovery.decoy_check(counted=settings.lockout_on_wrong_code)
            verdict = ctx.limits.try_decoy(
                ctx.db.keyed, settings, state.domain, state.username, typed, state.flow_id, now
            )
            if settings.lockout_on_wrong_code:
                recovery.decoy_count()
            raise FlowError("code_dead" if verdict == "dead" else "wrong_code")
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
                recovery.count_failure(record, what)
            else:
                ctx.db.users.save(record)
                recovery.failed(what)
            raise FlowError("code_dead" if verdict == "dead" else "wrong_code")
        if record.code is not None and codes.expired(record.code, settings, now):
            recovery.failed("code expired")
            raise FlowError("code_expired")
        record.code = None  # single use
        if state.mode == "auto" and record.last_enroll is None:
            record.last_enroll = now
            # The code proved the mailbox: this user's language, not an earlier start's.
            record.language = state.lang
            recovery.succeeded("auto-enrolled")
        ctx.db.users.save(record)
        return None


FACTOR = CodeFactor()
