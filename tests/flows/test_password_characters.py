"""Passwords holding characters a directory can never have in a password."""

from __future__ import annotations

from support.flowstack import PASSWORD, QUESTIONS
from support.stacks import secret


def test_a_password_with_a_control_character_is_a_wrong_password(flows, user, caplog):
    """Found by fuzzing the API: ldap3 refuses to send such a password (SASLprep), and
    that was reported as an unreachable directory: a 502 for the user and an ERROR line
    "cannot reach" in the server log, as if the directory were down."""
    stack = flows()
    bad = secret("Init!Passw0rd\x01")
    change = stack.post(
        "change",
        {"domain": stack.domain, "username": user, "old_password": bad,
         "new_password": secret("New!Passw0rd-77")},
    )  # fmt: skip
    assert (change.status_code, change.json()["code"]) == (401, "wrong_password")
    enroll = stack.post(
        "enroll",
        {"domain": stack.domain, "username": user, "password": bad,
         "answers": [{"question": q, "answer": secret("Rex the dog")} for q in QUESTIONS[:3]]},
    )  # fmt: skip
    assert (enroll.status_code, enroll.json()["code"]) == (401, "wrong_password")
    assert not [r for r in caplog.records if r.levelname == "ERROR"], caplog.text
    assert "cannot reach" not in caplog.text
    assert "\x01" not in caplog.text


def test_a_new_password_the_client_cannot_send_is_refused_as_a_password(flows, user, caplog):
    """Found by the datagram fuzzer (issue 9): OpenLDAP's Password Modify goes through
    SASLprep as the bind does, so a new password with a control character was also
    "directory unreachable" and an ERROR log; the user now hears the directory refused it.
    Active Directory takes any character in unicodePwd."""
    stack = flows()
    body = {"domain": stack.domain, "username": user, "old_password": secret(PASSWORD),
            "new_password": secret("Changed!Passw0rd-4\x9b")}  # fmt: skip
    reply = stack.post("change", body)
    if stack.kind == "ad":
        assert reply.status_code == 200, reply.text
    else:
        assert (reply.status_code, reply.json()["code"]) == (422, "password_rejected")
        assert stack.admin.bind_ok(user, PASSWORD)
    assert not [r for r in caplog.records if r.levelname == "ERROR"], caplog.text
