"""The factor policy on both directories (`[factors]`): the choice of factors, weights and
threshold, mandatory kinds, the admin groups' stricter rule, sites without questions, and
the conditions that raise the threshold or block self-service."""

from __future__ import annotations

from typing import Any

from pwreset.console.users import all_rows
from pwreset.protocol.sealing import open_reply

from support.flowstack import ANSWERS, PASSWORD

CODES = {"enabled": True, "email": True, "sms": False}
# The kinds these tests need no more of: offered are the questions and a code.
OTHERS_OFF = {"weights": {"totp": 0, "recovery_code": 0, "passkey": 0}}


def _mail(stack: Any, user: str) -> str:
    return f"{user}@lab.example.com" if stack.kind == "ad" else f"{user}@example.org"


def _answers(stack: Any, reply: Any) -> Any:
    """Answer every question from a question step: the reply after the last."""
    for answer in ANSWERS:
        body = reply.json()
        assert body["step"]["kind"] == "question", body
        reply = stack.step("reset", body["flow"], answer=answer)
    return reply


def test_an_admin_group_user_is_refused_with_questions_alone(flows, user, fresh_user_name):
    """Entra's two-gate rule: for members of an admin group, questions do not count and two
    different kinds are needed, whatever the site's threshold; other users reset with the
    questions where the site asks for no more. The refusal comes only once the questions
    are answered (the offer is the same for everyone)."""
    group = f"a{fresh_user_name[1:]}"
    admin = f"{fresh_user_name}a"
    stack = flows(factors={**OTHERS_OFF, "threshold": 1, "admin_groups": [group]})
    stack.admin.create_user(admin, PASSWORD)
    stack.admin.create_group(group, [admin])
    for name in (user, admin):
        assert stack.enroll(name).status_code == 200
    assert _answers(stack, stack.start("reset", user)).json()["step"]["kind"] == "password"
    refused = _answers(stack, stack.start("reset", admin))
    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "policy_not_met"
    assert stack.audit(admin)[-1].event == "the factors proven do not meet the policy"


def test_mandatory_kinds_come_first_and_the_threshold_counts_weights(flows, user, fresh_user_name):
    """A mandatory code is asked first, of everyone (an unknown name too); then the one kind
    left; the threshold of 2 needs both. A condition holding now raises the threshold past
    what the site offers: refused once the factors are proven."""
    other = f"{fresh_user_name}c"
    stack = flows(verification=CODES, factors={**OTHERS_OFF, "threshold": 2, "mandatory": ["code"]})
    stack.admin.create_user(other, PASSWORD)
    for name in (user, other):
        assert stack.enroll(name).status_code == 200
    meta = stack.relay.get("/pwreset/api/v1/meta").json()
    assert meta["factors"] == {"offer": ["questions", "code"], "questions": True}
    unknown = stack.start("reset", f"{user}x").json()["step"]
    started = stack.start("reset", user).json()
    assert unknown["kind"] == started["step"]["kind"] == "code"
    proven = stack.step("reset", started["flow"], code=stack.code_from_mail(_mail(stack, user)))
    assert proven.json()["step"]["kind"] == "question", proven.text
    assert _answers(stack, proven).json()["step"]["kind"] == "password"

    every_day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    raised = stack.restart(
        verification=CODES,
        factors={**OTHERS_OFF, "threshold": 2, "conditions": [{"days": every_day, "threshold": 5}]},
    )
    started = raised.start("reset", other).json()
    assert started["step"] == {"kind": "choose", "factors": ["questions", "code"]}
    chosen = raised.step("reset", started["flow"], factor="code")
    code = raised.code_from_mail(_mail(raised, other))
    after_code = raised.step("reset", chosen.json()["flow"], code=code)
    assert after_code.json()["step"]["kind"] == "question", after_code.text
    refused = _answers(raised, after_code)
    assert refused.json()["code"] == "policy_not_met", refused.text


def test_a_blocking_condition_refuses_self_service_from_its_addresses(flows, user):
    """Requests from a blocked range are refused at the start, for everyone alike; other
    addresses are served."""
    blocked = {"addresses": ["198.51.100.0/24"], "block": True}
    stack = flows(factors={**OTHERS_OFF, "threshold": 1, "conditions": [blocked]})
    assert stack.enroll(user).status_code == 200
    codes = []
    for name in (user, f"{user}x"):
        for address in ("198.51.100.7", "203.0.113.9"):
            body = {"domain": stack.domain, "username": name}
            datagram, key = stack.seal("reset.start", body, client_ip=address)
            reply = open_reply(stack.send_datagram(datagram), key)
            codes.append(reply.failure.code if reply.failure else reply.result["step"]["kind"])
    assert codes == ["self_service_blocked", "question"] * 2


def test_a_site_without_questions_offers_none_anywhere(flows, user):
    """[factors] questions = false: meta says so and offers a code only; the enroll
    operation and a question step from before are refused with factor_not_offered; a reset
    asks for a code (no choice, no question) of enrolled and unknown users alike; the
    console no longer lists the answers kept from before as a factor (the pages:
    tests/builder/test_build_output.py)."""
    stack = flows(verification=CODES)
    assert stack.enroll(user).status_code == 200
    before = stack.start("reset", user).json()
    assert before["step"]["kind"] == "question"
    stack = stack.restart(
        verification=CODES, factors={**OTHERS_OFF, "questions": False, "threshold": 1}
    )
    meta = stack.relay.get("/pwreset/api/v1/meta").json()
    assert meta["factors"] == {"offer": ["code"], "questions": False}
    assert stack.enroll(user).json()["code"] == "factor_not_offered"
    old = stack.step("reset", before["flow"], answer=ANSWERS[0])
    assert old.json()["code"] == "factor_not_offered", old.text
    for name in (user, f"{user}x"):
        assert stack.start("reset", name).json()["step"]["kind"] == "code"
    (row,) = [r for r in all_rows(stack.config) if r["username"].casefold() == user.casefold()]
    assert row["factors"] == ("code",)
