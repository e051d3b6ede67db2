"""Reset and unlock follow `[enroll] permission` (security review 4), on both directories
with real groups: at start an excluded user looks like an unknown one, and a user moved into
an excluded group mid-flow is refused right before the directory write."""

from __future__ import annotations

import time

from support.flowstack import ANSWERS, PASSWORD

NEW_PASSWORD = "Perm!Passw0rd-5"


def _problem(reply):
    assert reply.headers["content-type"].startswith("application/problem+json"), reply.text
    return reply.json()


def _shape(reply):
    """What an observer can compare between two users: status, step kind, and how many
    destinations (their masked text is per name for everybody)."""
    body = reply.json()
    step = body["step"]
    return reply.status_code, sorted(body), step["kind"], len(step.get("destinations", []))


def test_excluded_user_is_not_sent_a_code_in_auto_mode(flows, user, fresh_user_name):
    """security review 4: an admin-group account cannot be reset by a code alone; its start
    gets the reply an unknown name gets, and no code is sent"""
    group = f"x{fresh_user_name[1:]}"
    stack = flows(
        enroll={"permission": {"allow": "except", "groups": [group]}},
        verification={"enabled": True, "auto_enroll": True},
    )
    stack.admin.create_group(group, [user])
    excluded = stack.start("reset", user)
    unknown = stack.start("reset", f"nobody{fresh_user_name}")
    assert _shape(excluded) == _shape(unknown)
    assert _problem(stack.step("reset", excluded.json()["flow"], code="123456"))["code"] == (
        "wrong_code"
    )
    time.sleep(0.5)
    assert stack.smtp.messages == []
    assert stack.record(user) is None


def test_user_moved_into_an_excluded_group_mid_reset_is_refused(flows, user, fresh_user_name):
    """security review 4: the rules are checked again right before the password is set"""
    group = f"x{fresh_user_name[1:]}"
    stack = flows(enroll={"permission": {"allow": "except", "groups": [group]}})
    assert stack.enroll(user).status_code == 200
    token = stack.answer_all("reset", user).json()["flow"]
    stack.admin.create_group(group, [user])
    got = _problem(stack.step("reset", token, new_password=NEW_PASSWORD))
    assert (got["code"], got["message"]) == ("not_permitted", "RES_NOT_PERMITTED")
    assert stack.admin.bind_ok(user, PASSWORD)
    assert not stack.admin.bind_ok(user, NEW_PASSWORD)
    last = stack.audit(user)[-1]
    assert (last.type, last.source, last.event) == ("failure", "reset", "not permitted")


def test_user_moved_into_an_excluded_group_mid_unlock_is_refused(flows, user, fresh_user_name):
    """security review 4: the same right before the account is unlocked"""
    group = f"x{fresh_user_name[1:]}"
    stack = flows(enroll={"permission": {"allow": "except", "groups": [group]}})
    assert stack.enroll(user).status_code == 200
    stack.admin.lock(user)
    reply = stack.start("unlock", user).json()
    for answer in ANSWERS[:-1]:
        reply = stack.step("unlock", reply["flow"], answer=answer).json()
    stack.admin.create_group(group, [user])
    got = _problem(stack.step("unlock", reply["flow"], answer=ANSWERS[-1]))
    assert got["code"] == "not_permitted"
    assert not stack.admin.bind_ok(user, PASSWORD)  # still locked
    assert stack.record(user).last_unlock is None
    last = stack.audit(user)[-1]
    assert (last.type, last.source, last.event) == ("failure", "unlock", "not permitted")


def test_members_of_an_only_group_may_still_reset(flows, user, fresh_user_name):
    """security review 4: the rules do not stop the users they allow"""
    group = f"g{fresh_user_name[1:]}"
    stack = flows(enroll={"permission": {"allow": "only", "groups": [group]}})
    stack.admin.create_group(group, [user])
    assert stack.enroll(user).status_code == 200
    token = stack.answer_all("reset", user).json()["flow"]
    assert stack.step("reset", token, new_password=NEW_PASSWORD).json()["status"] == "done"
    assert stack.admin.bind_ok(user, NEW_PASSWORD)
