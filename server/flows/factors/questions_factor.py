"""Security questions as a factor: each enrolled question in turn, every answer checked
under the user's lock and counted toward the lockout when wrong (not the same wrong answer
twice). A decoy is asked questions drawn for its name and never gets past the first."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from pwreset.server.flows import lockout, questions
from pwreset.server.flows.errors import FlowError
from pwreset.server.flows.fields import text
from pwreset.server.storage import UserRecord

if TYPE_CHECKING:
    from pwreset.server.flows.recovery import Recovery


def enrolled_questions(record: UserRecord | None) -> list[dict[str, Any]]:
    """The questions `record` enrolled (none for an auto-enrolled user)."""
    if record is None or record.auto_enrolled or not record.enrollment:
        return []
    return list(record.enrollment.get("questions") or [])


class QuestionsFactor:
    kind: ClassVar[str] = "questions"

    def has(self, record: UserRecord) -> bool:
        return bool(enrolled_questions(record))

    def ask(self, recovery: Recovery, record: UserRecord | None) -> Mapping[str, Any]:
        ctx, state = recovery.ctx, recovery.state
        settings = ctx.config.enroll
        if record is not None and self.has(record):
            enrolled = enrolled_questions(record)
            recovery.state = state.advance(recovery.now, index=0, total=len(enrolled))
            return _question(recovery, questions.prompt(settings, enrolled[0], recovery.lang))
        recovery.state = state.advance(recovery.now, index=0, total=settings.questions)
        size = len(settings.question_list["en"])
        first = ctx.decoys.question_ids(state.domain, state.username, size, settings.questions)[0]
        return _question(recovery, questions.prompt_at(settings, first, recovery.lang) or "")

    def check(self, recovery: Recovery, record: UserRecord | None) -> Mapping[str, Any] | None:
        ctx, state, now = recovery.ctx, recovery.state, recovery.now
        answer = text(recovery.request.body, "answer")
        # The same wrong answer again is not counted again, for decoys as for the enrolled.
        wrong = ctx.answer_prints.of(state.domain, state.username, state.index, answer)
        if record is None or not self.has(record):
            recovery.decoy_check(counted=True)
            questions.burn_time_like_a_check()
            recovery.decoy_failure("not enrolled", wrong)
            raise FlowError("wrong_answer")
        lockout.check(lockout.of_record(record), ctx.config.security, now)
        enrolled = enrolled_questions(record)
        if state.index >= len(enrolled):
            raise FlowError("session_expired")
        if not questions.verify_answer(answer, enrolled[state.index]["h"]):
            n = state.index + 1
            if lockout.repeated(lockout.of_record(record), ctx.config.security, now, wrong):
                recovery.failed(f"wrong answer to question {n}, given before: not counted again")
            else:
                recovery.count_failure(record, f"wrong answer to question {n}", wrong)
            raise FlowError("wrong_answer")
        following = state.index + 1
        if following < len(enrolled):
            recovery.state = state.advance(now, index=following)
            prompt = questions.prompt(ctx.config.enroll, enrolled[following], recovery.lang)
            return _question(recovery, prompt)
        # Every question answered: the count of wrong answers starts again.
        lockout.release(record)
        ctx.db.users.save(record)
        return None


def _question(recovery: Recovery, prompt: str) -> Mapping[str, Any]:
    state = recovery.state
    return {"kind": "question", "index": state.index + 1, "total": state.total, "prompt": prompt}


FACTOR = QuestionsFactor()
