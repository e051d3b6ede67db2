"""Unlock and Change on both directories (apr checklist 59-69)."""

from __future__ import annotations

import subprocess
import sys

from pwreset.server.storage.query import display

from support.flowstack import ANSWERS, PASSWORD


def _problem(reply):
    assert reply.headers["content-type"].startswith("application/problem+json"), reply.text
    return reply.json()


def _change(stack, user, old=PASSWORD, new="Changed!Passw0rd-4"):
    return stack.post(
        "change",
        {"domain": stack.domain, "username": user, "old_password": old, "new_password": new},
    )


def test_unlock_checks_identity_and_keeps_the_password(flows, user):
    """apr checklist 59"""
    stack = flows()
    assert stack.enroll(user).status_code == 200
    stack.admin.lock(user)
    token = stack.start("unlock", user).json()["flow"]
    assert _problem(stack.step("unlock", token, answer="wrong"))["code"] == "wrong_answer"
    assert stack.admin.is_locked(user)
    done = stack.answer_all("unlock", user, ANSWERS)
    assert done.json()["message"] == "RES_FINISHED_UNLOCK"
    assert not stack.admin.is_locked(user)
    assert stack.admin.bind_ok(user, PASSWORD)  # unchanged
    record = stack.record(user)
    assert record.last_unlock is not None and record.last_reset is None


def test_unlock_does_not_lift_pwreset_lockout(flows, user):
    """apr checklist 60"""
    stack = flows(security={"lockout_threshold": 1})
    assert stack.enroll(user).status_code == 200
    token = stack.start("reset", user).json()["flow"]
    assert _problem(stack.step("reset", token, answer="wrong"))["code"] == "locked_out"
    assert _problem(stack.start("unlock", user))["code"] == "locked_out"
    record = stack.record(user)
    assert record.locked_out
    # The Data Console shows the lockout and when it ends (lockout_minutes: 30 by default).
    listing = subprocess.run(
        [sys.executable, "-m", "pwreset", "users", "list", "--where", "locked_out=yes",
         "--columns", "username,locked_until", "-c", str(stack.instance / "pwreset.toml")],
        capture_output=True, text=True, check=True,
    ).stdout.splitlines()  # fmt: skip
    end = display(record.last_failure + 30 * 60, "time")
    assert listing[2].split(maxsplit=1) == [user, end]


def test_change_fields_and_unenrolled_users(flows, user):
    """apr checklist 61, 62, 68"""
    stack = flows()
    body = {"domain": stack.domain, "username": user, "old_password": PASSWORD}
    assert _problem(stack.post("change", body))["message"] == "RES_EMPTY_FIELD_NEW_PASSWORD"
    reply = _change(stack, user)
    assert reply.json() == {"status": "done", "message": "RES_FINISHED_CHANGE_INVITE"}
    assert stack.admin.bind_ok(user, "Changed!Passw0rd-4")
    assert stack.record(user) is None  # a change does not enroll anybody


def test_enrolled_users_get_the_plain_finished_message(flows, user):
    """apr checklist 67"""
    stack = flows()
    assert stack.enroll(user).status_code == 200
    reply = _change(stack, user)
    assert reply.json() == {"status": "done", "message": "RES_FINISHED_CHANGE"}
    assert stack.record(user).last_change is not None


def test_change_permission_rules(flows, user, fresh_user_name):
    """apr checklist 63"""
    group = f"c{fresh_user_name[1:]}"
    stack = flows(change={"permission": {"allow": "only", "groups": [group]}})
    got = _problem(_change(stack, user))
    assert (got["code"], got["message"]) == ("not_permitted", "RES_NOT_PERMITTED")
    assert stack.admin.bind_ok(user, PASSWORD)
    stack.admin.create_group(group, [user])
    assert _change(stack, user).status_code == 200


def test_wrong_old_password_fails_and_counts(flows, user):
    """apr checklist 64, 65"""
    stack = flows()
    before = stack.admin.failed_logons(user)
    got = _problem(_change(stack, user, old="Wrong!Passw0rd-2"))
    assert got["code"] == "wrong_password"
    assert stack.admin.failed_logons(user) == before + 1
    (row,) = stack.audit(user)
    assert (row.type, row.source, row.event) == ("failure", "change", "wrong current password")


def test_change_applies_the_directory_policy(flows, user):
    """apr checklist 66: Change is a real change operation, not an admin reset. The
    directory's history refuses a change back to a recent password (ppolicy pwdInHistory 3
    in the lab, Samba's pwdHistoryLength 24), while an administrator's reset (Reset with
    `enforce_directory_history` off, the default) sets that same password: a Change that
    did a reset would go through here."""
    stack = flows()
    stack.admin.set_password(user, "Reset!Passw0rd-9")  # PASSWORD is now in the history
    got = _problem(_change(stack, user, old="Reset!Passw0rd-9", new=PASSWORD))
    assert got["code"] == "password_in_history"
    assert stack.admin.bind_ok(user, "Reset!Passw0rd-9")
    assert not stack.admin.bind_ok(user, PASSWORD)
    assert stack.enroll(user, password="Reset!Passw0rd-9").status_code == 200
    token = stack.answer_all("reset", user).json()["flow"]
    assert stack.step("reset", token, new_password=PASSWORD).status_code == 200
    assert stack.admin.bind_ok(user, PASSWORD)


def test_locked_account_cannot_change(flows, user):
    """apr checklist 69, changed by security review, low: the directories refuse a locked
    account whatever the password, so the right password is not proven and the reply is
    RES_WRONG_PASSWORD (RES_LOCKED_OUT_AD would show a stranger the account and its lock)"""
    stack = flows()
    stack.admin.lock(user)
    assert _problem(_change(stack, user))["message"] == "RES_WRONG_PASSWORD"
    assert stack.admin.is_locked(user)
