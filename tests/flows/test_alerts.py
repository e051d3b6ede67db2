"""Alerts after flows, through a real SMTP server (apr checklist 26, 53, 84, 86, 88) and
the status API during maintenance (109)."""

from __future__ import annotations

import time

from support.flowstack import ANSWERS, PASSWORD


def _alert(subject_en: str, subject_de: str, to: str = "[AD_OR_APR_EMAIL]") -> dict:
    return {
        "to": to,
        "bcc": "audit@example.org",
        "text": {
            "en": {"subject": subject_en, "body": "[AD_USER] in [AD_DOMAIN]"},
            "de": {"subject": subject_de, "body": "[AD_USER] in [AD_DOMAIN]"},
        },
    }


def _mail(stack, user):
    return f"{user}@lab.example.com" if stack.kind == "ad" else f"{user}@example.org"


ALERTS = {
    "enroll": _alert("Enrolled", "Registriert"),
    "reset": _alert("Password reset", "Kennwort zurückgesetzt", to="[APR_OR_AD_EMAIL]"),
    "unlock": _alert("Unlocked", "Entsperrt"),
    "change": _alert("Changed", "Geändert"),
    "lockout": _alert("Locked out", "Gesperrt"),
}


def test_alerts_follow_each_flow_in_the_stored_language(flows, user):
    """apr checklist 26, 53, 84, 86, 88; security review 12: the page's language (chosen by
    whoever asks) never changes the language of the alerts"""
    stack = flows(alerts=ALERTS, enroll={"email": "optional"}, security={"lockout_threshold": 2})
    assert stack.enroll(user, email="me@private.example", lang="de").status_code == 200
    (enrolled,) = stack.smtp.wait_for(1)
    assert enrolled.message["Subject"] == "Registriert"  # the stored language
    assert enrolled.rcpt_tos == [_mail(stack, user), "audit@example.org"]
    assert "Bcc" not in enrolled.message
    assert enrolled.message.get_content().strip() == f"{user} in {stack.domain}"
    # A page in another language does not change the language of the alert.
    reply = stack.start("reset", user, lang="fr").json()
    for answer in ANSWERS:
        reply = stack.step("reset", reply["flow"], answer=answer).json()
    assert stack.step("reset", reply["flow"], new_password="Alert!Passw0rd-1").status_code == 200
    reset = stack.smtp.wait_for(2)[1]
    assert reset.message["Subject"] == "Kennwort zurückgesetzt"
    assert reset.rcpt_tos[0] == "me@private.example"  # [APR_OR_AD_EMAIL]
    assert stack.record(user).language == "de"
    token = stack.start("unlock", user, lang="en").json()["flow"]
    stack.step("unlock", token, answer="no")
    stack.step("unlock", token, answer="nope")
    lockout = stack.smtp.wait_for(3)[2]
    assert lockout.message["Subject"] == "Gesperrt"


def test_lockout_alert_reaches_the_directory_address(flows, user):
    """security review 12: with no enrolled address (enroll.email = "off", the default) the
    lockout alert still reaches the user, at the directory's address"""
    stack = flows(alerts={"lockout": ALERTS["lockout"]}, security={"lockout_threshold": 2})
    assert stack.enroll(user, lang="de").status_code == 200
    token = stack.start("reset", user, lang="en").json()["flow"]
    stack.step("reset", token, answer="no")
    assert stack.step("reset", token, answer="nope").json()["code"] == "locked_out"
    (lockout,) = stack.smtp.wait_for(1)
    assert lockout.rcpt_tos == [_mail(stack, user), "audit@example.org"]
    assert lockout.message["Subject"] == "Gesperrt"


def test_reset_alert_by_default_with_only_email_configured(flows, user):
    """security review 11: with [email] configured and no [alerts] table, the user hears of
    a reset, an unlock and an enrollment at the directory's address"""
    stack = flows(stock_alerts=True)
    assert stack.enroll(user).status_code == 200
    (enrolled,) = stack.smtp.wait_for(1)
    assert enrolled.rcpt_tos == [_mail(stack, user)]
    token = stack.answer_all("reset", user).json()["flow"]
    assert stack.step("reset", token, new_password="Alert!Passw0rd-4").status_code == 200
    reset = stack.smtp.wait_for(2)[1]
    assert reset.rcpt_tos == [_mail(stack, user)]
    assert reset.message["Subject"] == "Your password was reset"
    assert f"{user} in {stack.domain}" in reset.message.get_content()
    assert stack.answer_all("unlock", user).json()["status"] == "done"
    unlock = stack.smtp.wait_for(3)[2]
    assert (unlock.rcpt_tos, unlock.message["Subject"]) == (
        [_mail(stack, user)],
        "Your account was unlocked",
    )


def test_change_alert_and_english_fallback(flows, user):
    """apr checklist 88: no text in the user's language -> English"""
    alerts = {"change": {"text": {"en": {"subject": "Changed", "body": "[AD_USER]"}}}}
    stack = flows(alerts=alerts)
    assert stack.enroll(user, lang="fr").status_code == 200
    body = {"domain": stack.domain, "username": user, "old_password": PASSWORD}
    assert stack.post("change", {**body, "new_password": "Alert!Passw0rd-2"}).status_code == 200
    (mail,) = stack.smtp.wait_for(1)
    assert mail.message["Subject"] == "Changed"


def test_a_failing_mail_server_never_fails_the_flow(flows, user):
    """a done reset stays done when its alert cannot be sent; the failure is audited"""
    stack = flows(alerts=ALERTS, email={"smtp_port": 9})
    assert stack.enroll(user).status_code == 200
    token = stack.answer_all("reset", user).json()["flow"]
    assert stack.step("reset", token, new_password="Alert!Passw0rd-3").status_code == 200
    assert stack.admin.bind_ok(user, "Alert!Passw0rd-3")
    deadline = time.monotonic() + 10
    while "reset alert e-mail not sent" not in [r.event for r in stack.audit(user)]:
        assert time.monotonic() < deadline, [r.event for r in stack.audit(user)]
        time.sleep(0.1)
    rows = [(r.type, r.event) for r in stack.audit(user)]
    assert ("success", "password reset") in rows
    assert ("failure", "reset alert e-mail not sent") in rows


def test_status_api_says_nothing_during_maintenance(flows, user):
    """apr checklist 109"""
    stack = flows()
    (stack.data_dir / "MAINTENANCE").touch()
    reply = stack.relay.get(f"/pwreset/api/v1/enrollments/{stack.domain}/{user}")
    assert reply.status_code == 200
    assert reply.json() == {}
