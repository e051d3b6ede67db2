"""Nobody learns who exists or who enrolled: replies through the lockout and timings
(the short version of bench/enumeration.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from support.enumeration import (
    CLASSES,
    FACTOR_SETTINGS,
    comparisons,
    enroll_every_factor,
    factor_timings,
    population,
    reply_sequence,
    timings,
)

# Enough for the Kolmogorov-Smirnov test to see a difference of a few milliseconds behind
# the reply floor (critical value 0.42 at alpha = 0.01), in well under a minute per directory.
SAMPLES = 30
# Per factor step: a delay that lasts shows in every sample, which 15 already reject.
FACTOR_SAMPLES = 15


def test_replies_through_the_lockout_are_the_same(flows, fresh_user_name):
    """security review 5: unknown, unenrolled and enrolled users get the same replies,
    slowdowns and lockout with the default settings (and the lockout ends for all alike).
    Also when the enrolled user has used up `max_recoveries` (told only once the questions
    are answered), and when one wrong answer is given again and again (not counted again,
    for decoys as for the enrolled)"""
    # The relay's own per-address limit is not at stake.
    stack = flows(web={"rate_limit": 0}, security={"max_recoveries": 1})
    names = population(stack, fresh_user_name)
    done = stack.answer_all("reset", names["enrolled"])
    reset = stack.step("reset", done.json()["flow"], new_password="Capped!Passw0rd-5")
    assert reset.json()["status"] == "done", reset.text
    repeated = {cls: reply_sequence(stack, names[cls], tries=6, same=True) for cls in CLASSES}
    assert repeated["unknown"] == repeated["unenrolled"] == repeated["enrolled"], repeated
    assert [code for _, code, _, _ in repeated["enrolled"][1:-1]] == ["wrong_answer"] * 6
    stack.clock.advance(stack.config.security.lockout_minutes * 60 + 1)
    seen = {cls: reply_sequence(stack, names[cls], tries=6) for cls in CLASSES}
    assert seen["unknown"] == seen["unenrolled"] == seen["enrolled"], seen
    codes = [code for _, code, _, _ in seen["enrolled"]]
    assert codes.count("wrong_answer") == 4 and codes[-1] == "locked_out", codes
    assert "rate_limited" in codes
    stack.clock.advance(stack.config.security.lockout_minutes * 60 + 1)
    after = {cls: stack.start("reset", names[cls]).status_code for cls in CLASSES}
    assert set(after.values()) == {200}, after


def test_timings_do_not_tell_users_apart(flows, fresh_user_name):
    """security review 5: `start` and a wrong answer take as long for unknown and
    unenrolled names as for an enrolled user (two-sample KS test at alpha = 0.01, see
    _assert_no_lasting_difference)."""
    stack = flows(web={"rate_limit": 0})
    names = population(stack, fresh_user_name)
    _assert_no_lasting_difference(lambda: comparisons(timings(stack, names, SAMPLES)))


def test_factor_step_timings_do_not_tell_users_apart(flows, fresh_user_name):
    """Issue 14: choosing an authenticator app, a recovery code or a passkey, and a wrong
    proof of each, take as long for unknown and unenrolled names as for a user enrolled with
    every factor (behind the stock reply floor; KS test as above)."""
    stack = flows(**FACTOR_SETTINGS, web={"rate_limit": 0})
    names = population(stack, fresh_user_name)
    enroll_every_factor(stack, names["enrolled"])
    _assert_no_lasting_difference(lambda: comparisons(factor_timings(stack, names, FACTOR_SAMPLES)))


def _assert_no_lasting_difference(measure: Callable[[], dict[str, tuple[float, float]]]) -> None:
    """A comparison that rejects is measured once more with fresh samples: a real difference
    rejects twice, chance (1% per comparison) almost never does."""
    first = measure()
    rejected = {name for name, (stat, critical) in first.items() if stat > critical}
    if rejected:
        again = measure()
        still = {n: (first[n], again[n]) for n in rejected if again[n][0] > again[n][1]}
        assert not still, still


def test_the_choice_of_factors_tells_nobody_apart(flows, fresh_user_name):
    """Issue 14: with a choice of factors ([factors]), unknown, unenrolled and enrolled users
    are offered the same kinds and get the same replies at every step of every factor: the
    questions chosen and a wrong answer, the code chosen (as many masked addresses) and a
    wrong code, and a kind the site does not offer."""
    stack = flows(
        web={"rate_limit": 0},
        verification={"enabled": True, "email": True, "sms": False},
        factors={"threshold": 2, "weights": {"totp": 0, "recovery_code": 0, "passkey": 0}},
    )
    names = population(stack, fresh_user_name)
    seen = {}
    for cls, name in names.items():
        start = stack.start("reset", name)
        token = start.json()["flow"]
        row: list[Any] = [start.status_code, start.json()["step"]]
        asked = stack.step("reset", token, factor="questions")
        row.append(_reply(asked))
        row.append(_reply(stack.step("reset", asked.json()["flow"], answer="a wrong answer")))
        sent = stack.step("reset", token, factor="code")
        row += [_reply(sent), len(sent.json()["step"]["destinations"])]
        row.append(_reply(stack.step("reset", sent.json()["flow"], code="00000000")))
        row.append(_reply(stack.step("reset", token, factor="totp")))
        seen[cls] = row
    assert seen["unknown"] == seen["unenrolled"] == seen["enrolled"], seen
    assert seen["enrolled"][:2] == [200, {"kind": "choose", "factors": ["questions", "code"]}]
    assert [r[1] for r in seen["enrolled"][2:] if isinstance(r, tuple)] == [
        None,
        "wrong_answer",
        None,
        "wrong_code",
        "factor_not_offered",
    ]


def _reply(reply: Any) -> tuple[Any, ...]:
    body = reply.json()
    return (reply.status_code, body.get("code"), (body.get("step") or {}).get("kind"))
