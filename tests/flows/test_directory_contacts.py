"""Enrollment of e-mail and phone straight from the directory (`[enroll]
contacts_from_directory`, issue 13), on both directories: the copies made at enrollment are
where codes go, whatever the directory says later."""

from __future__ import annotations

CODES = {"enabled": True, "email": True, "sms": True}
LAB_PHONE = "+15550199"  # the lab users' mobile


def _mail(stack, user):
    return f"{user}@lab.example.com" if stack.kind == "ad" else f"{user}@example.org"


def test_enrollment_copies_the_directory_contacts_and_codes_keep_going_there(flows, user):
    stack = flows(
        verification=CODES,
        enroll={"email": "required", "contacts_from_directory": ["email", "phone"]},
    )
    # The page asks for no address: the directory's copy replaces it.
    assert stack.relay.get("/pwreset/api/v1/meta").json()["enroll"]["email"] == "off"
    # A typed address (sent directly, not by the page) is ignored for the directory's.
    assert stack.enroll(user, email="typed@elsewhere.example").status_code == 200
    record = stack.record(user)
    assert (record.email, record.phone) == (_mail(stack, user), LAB_PHONE)
    # The user (or whoever took over their account) edits the directory entry: codes still
    # go to the contacts proven at enrollment.
    stack.admin.set_attribute(user, "mail", "attacker@evil.example")
    stack.admin.set_attribute(user, "mobile", "+15559999")
    reply = stack.answer_all("reset", user)
    body = reply.json()
    assert body["step"]["kind"] == "code", body
    (mail,) = stack.smtp.wait_for(1)
    assert mail.rcpt_tos == [_mail(stack, user)]
    code = stack.code_from_mail(_mail(stack, user))
    (argv,) = stack.sms()
    assert argv[:2] == [LAB_PHONE, code]
    assert stack.step("reset", body["flow"], code=code).json()["step"]["kind"] == "password"
    # Enrolling again copies the directory's current values.
    assert stack.enroll(user).status_code == 200
    record = stack.record(user)
    assert (record.email, record.phone) == ("attacker@evil.example", "+15559999")


def test_without_the_setting_codes_follow_the_directory(flows, user):
    """The default: the typed address is stored, no phone is, and codes go to the
    directory's current values."""
    stack = flows(verification=CODES, enroll={"email": "optional"})
    assert stack.relay.get("/pwreset/api/v1/meta").json()["enroll"]["email"] == "optional"
    assert stack.enroll(user, email="typed@elsewhere.example").status_code == 200
    record = stack.record(user)
    assert (record.email, record.phone, record.copied_contacts) == (
        "typed@elsewhere.example",
        "",
        (),
    )
    stack.admin.set_attribute(user, "mail", "moved@mail.example")
    stack.admin.set_attribute(user, "mobile", "+15550123")
    assert stack.answer_all("reset", user).json()["step"]["kind"] == "code"
    (mail,) = stack.smtp.wait_for(1)  # `email_to = "both"`, the default
    assert sorted(mail.rcpt_tos) == ["moved@mail.example", "typed@elsewhere.example"]
    assert stack.sms()[0][0] == "+15550123"
