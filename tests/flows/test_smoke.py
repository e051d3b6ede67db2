"""The main journeys end to end on both directories: enroll, then reset or unlock."""

from __future__ import annotations

from support.flowstack import ANSWERS, PASSWORD


def test_enroll_then_reset(flows, user):
    """apr checklist 7, 30, 31, 46"""
    stack = flows()
    reply = stack.enroll(user)
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"status": "done", "message": "RES_FINISHED_ENROLL"}
    reply = stack.answer_all("reset", user)
    step = reply.json()["step"]
    assert step["kind"] == "password"
    assert "min_length" in [rule["id"] for rule in step["policy"]["rules"]]  # the directory's
    done = stack.step("reset", reply.json()["flow"], new_password="Reset!Passw0rd-9")
    assert done.status_code == 200, done.text
    assert done.json() == {"status": "done", "message": "RES_FINISHED_RESET"}
    assert stack.admin.bind_ok(user, "Reset!Passw0rd-9")
    assert not stack.admin.bind_ok(user, PASSWORD)


def test_enroll_then_unlock(flows, user):
    """apr checklist 59"""
    stack = flows()
    assert stack.enroll(user).status_code == 200
    stack.admin.lock(user)
    assert stack.admin.is_locked(user)
    reply = stack.answer_all("unlock", user, ANSWERS)
    assert reply.json() == {"status": "done", "message": "RES_FINISHED_UNLOCK"}
    assert not stack.admin.is_locked(user)
    assert stack.admin.bind_ok(user, PASSWORD)
