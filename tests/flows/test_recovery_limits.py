"""The limits the leading tools have: successful resets and unlocks capped per user
(`[security] max_recoveries` in `recovery_window_days`), and a wrong answer given again not
counted twice toward the lockout (Entra's smart lockout rule)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from pwreset.config.flow_settings import SecuritySettings
from pwreset.server.flows.lockout import (
    REMEMBERED_WRONG_ANSWERS,
    AnswerPrints,
    Strikes,
    add,
    repeated,
)

from support.flowstack import ANSWERS

NEW = ["Capped!Passw0rd-1", "Capped!Passw0rd-2", "Capped!Passw0rd-3", "Capped!Passw0rd-4"]
DAY = 86400.0
# Nothing here is about timing: replies as fast as they come.
FAST = {"reply_floor_ms": 0, "failure_delay": 0}


def _code(reply) -> str:
    return reply.json().get("code", "")


def _verified(stack, flow: str, user: str):
    """Start `flow` and answer every question: the reply to the last answer."""
    reply = stack.start(flow, user)
    for answer in ANSWERS:
        assert reply.json()["step"]["kind"] == "question", reply.text
        reply = stack.step(flow, reply.json()["flow"], answer=answer)
    return reply


def _reset(stack, user: str, password: str):
    reply = _verified(stack, "reset", user)
    if reply.status_code != 200:
        return reply
    return stack.step("reset", reply.json()["flow"], new_password=password)


def test_resets_and_unlocks_are_capped_per_user(flows, user):
    """a third reset or unlock within the day is refused with recovery_limit once the
    questions are answered, audited; a day after the first it is allowed again"""
    stack = flows(security={**FAST, "max_recoveries": 2, "recovery_window_days": 1})
    assert stack.enroll(user).status_code == 200
    assert _reset(stack, user, NEW[0]).json()["status"] == "done"
    stack.clock.advance(3600)
    assert _verified(stack, "unlock", user).json()["status"] == "done"  # counts too

    refused = _verified(stack, "reset", user)
    assert (refused.status_code, _code(refused)) == (429, "recovery_limit"), refused.text
    assert refused.json()["message"] == "RES_RECOVERY_LIMIT"
    # Free again when the first leaves the window: a day after it, an hour from now.
    assert 22 * 3600 < int(refused.json()["params"]["retry_after"]) <= 23 * 3600 + 1
    assert _code(_verified(stack, "unlock", user)) == "recovery_limit"
    assert stack.admin.bind_ok(user, NEW[0])  # nothing was written
    rows = [e for e in stack.audit(user) if "recovery limit reached" in e.event]
    assert [(e.type, e.source) for e in rows] == [("failure", "reset"), ("failure", "unlock")]
    assert "2 resets and unlocks in 1 days" in rows[0].event

    stack.clock.advance(DAY - 3600 + 1)
    assert _reset(stack, user, NEW[1]).json()["status"] == "done"
    assert stack.admin.bind_ok(user, NEW[1])
    # The unlock an hour after the first reset is still in the window: the cap holds.
    assert _code(_verified(stack, "reset", user)) == "recovery_limit"


def test_parallel_resets_cannot_pass_the_cap(flows, user):
    """two flows verified while under the cap, their new passwords sent at once: one is
    set, the other refused (the count is taken before the directory write). A password the
    directory refuses is not counted"""
    stack = flows(security={**FAST, "max_recoveries": 1})
    assert stack.enroll(user).status_code == 200
    tokens = [_verified(stack, "reset", user).json()["flow"] for _ in range(2)]
    too_short = stack.step("reset", tokens[0], new_password="Ab1!")
    assert _code(too_short) == "password_too_short", too_short.text
    with ThreadPoolExecutor(max_workers=2) as pool:
        replies = list(
            pool.map(
                lambda pair: stack.step("reset", pair[0], new_password=pair[1]),
                zip(tokens, NEW[2:], strict=True),
            )
        )
    statuses = sorted(r.status_code for r in replies)
    # The loser is refused by the cap, or, if the winner's write was saved before it
    # looked, as a flow overtaken by a newer reset (session_expired).
    assert statuses[0] == 200 and statuses[1] in (410, 429), [r.text for r in replies]
    assert len(stack.record(user).recoveries) == 1
    assert [stack.admin.bind_ok(user, p) for p in NEW[2:]].count(True) == 1


def _tries(stack, flow: str, user: str, answers: list[str]) -> list[str]:
    token = stack.start(flow, user).json()["flow"]
    return [_code(stack.step(flow, token, answer=a)) for a in answers]


def test_the_same_wrong_answer_counts_once(flows, user):
    """the same wrong answer again (as answers compare: case and punctuation aside) is not
    counted again, for an enrolled user and a name nobody enrolled alike; different wrong
    answers each count, and cycling through them still locks out at the threshold"""
    stack = flows(security=FAST, web={"rate_limit": 0})  # many tries from one address
    assert stack.enroll(user).status_code == 200
    seen = _tries(stack, "reset", user, ["Fido", "fido!", "FIDO", "Fido"] * 2)
    assert seen == ["wrong_answer"] * 8
    assert stack.record(user).wrong_answers == 1
    assert _tries(stack, "unlock", user, ["Rex", "Fido"]) == ["wrong_answer"] * 2
    assert stack.record(user).wrong_answers == 2  # "Rex" is new; "Fido" is not, in any flow

    nobody = f"{user}-nobody"
    assert _tries(stack, "reset", nobody, ["Fido"] * 8) == ["wrong_answer"] * 8

    # Cycling: only each different answer counts, so the fifth different one locks out.
    cycle = ["Rex", "Fido", "Max", "Fido", "Rex", "Bella", "Max", "Luna"]
    expected = ["wrong_answer"] * 7 + ["locked_out"]
    assert _tries(stack, "reset", user, cycle) == expected
    assert _tries(stack, "reset", nobody, cycle) == expected
    record = stack.record(user)
    assert record.wrong_answers == 5 and record.locked_out
    # Only keyed hashes are kept, never the answers (tests/flows/test_no_secrets.py reads
    # the files for the answers themselves).
    assert len(record.wrong_answer_prints) == 5
    assert all(len(p) == 16 and "Rex" not in p for p in record.wrong_answer_prints)

    # Forgotten with the count once the lockout ends: the same answer counts again.
    stack.clock.advance(stack.config.security.lockout_minutes * 60 + 1)
    assert _tries(stack, "reset", user, ["Fido"]) == ["wrong_answer"]
    assert stack.record(user).wrong_answers == 1


def test_wrong_answers_remembered_are_bounded():
    """at most REMEMBERED_WRONG_ANSWERS prints per name: the oldest goes first and then
    counts again, so nobody's memory grows with the guesses made at it"""
    security = SecuritySettings(lockout_threshold=0)
    prints = AnswerPrints(b"k" * 32)
    answers = [prints.of("LAB", "bob", 0, f"guess {i}") for i in range(8)]
    strikes = Strikes()
    for answer in answers:
        strikes = add(strikes, security, 100.0, answer)
    assert strikes.count == 8 and len(strikes.seen) == REMEMBERED_WRONG_ANSWERS
    assert repeated(strikes, security, 100.0, answers[-1])
    assert not repeated(strikes, security, 100.0, answers[0])
    # A print is the name's: the same answer of another user, or question, is another.
    assert prints.of("LAB", "BOB", 0, "Guess 7!") == answers[-1]
    assert prints.of("LAB", "alice", 0, "guess 7") != answers[-1]
    assert prints.of("LAB", "bob", 1, "guess 7") != answers[-1]
