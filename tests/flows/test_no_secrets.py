"""After every flow, no answer, code or password is readable in the database files, the
audit log or the server's log (issue 3)."""

from __future__ import annotations

import logging
import secrets as random

from support.flowstack import PASSWORD
from support.secrets_scan import assert_no_secrets, files_in


def test_no_secret_is_stored_or_logged(flows, user, caplog):
    caplog.set_level(logging.DEBUG)
    stack = flows(
        verification={"enabled": True, "email": True, "sms": True, "lockout_on_wrong_code": True},
        enroll={"email": "optional"},
        alerts={"reset": {"text": {"en": {"subject": "Reset", "body": "[AD_USER]"}}}},
    )
    tag = random.token_hex(4)
    answers = [f"Alpha{tag}", f"Bravo{tag}", f"Charlie{tag}"]
    new_password = f"New!{tag}-Pw9"
    assert stack.enroll(user, answers=answers, email=f"{tag}@mail.example").status_code == 200
    body = stack.answer_all("reset", user, answers).json()
    code = stack.sms()[-1][1]
    assert stack.step("reset", body["flow"], code="999999x").status_code == 401
    token = stack.step("reset", body["flow"], code=code).json()["flow"]
    assert stack.step("reset", token, new_password="Ab1").status_code == 422
    assert stack.step("reset", token, new_password=new_password).status_code == 200
    token = stack.start("unlock", user).json()["flow"]
    stack.step("unlock", token, answer=f"Wrong{tag}")

    # The refused "Ab1" is too short to look for: three characters turn up in any
    # ciphertext by chance.
    needles = {*answers, *(a.lower() for a in answers), code, new_password, PASSWORD}
    needles |= {"".join(c for c in a.casefold() if c.isalnum()) for a in answers}
    assert any("audit" in str(p) for p in files_in([stack.instance]))
    assert_no_secrets([stack.instance], needles)
    # Every logger but the test SMTP server's own (aiosmtpd's "mail.log" prints mail).
    for record in (r for r in caplog.records if not r.name.startswith("mail.")):
        text = record.getMessage() + str(record.exc_info or "")
        for needle in needles:
            assert needle not in text, f"a log line holds a secret: {text[:120]}"
    for row in stack.audit():
        assert not any(n in f"{row}" for n in needles)
