"""Recovery codes on both directories: ten shown once, each used once (the use audited and
alerted with the codes left, read from the lab's SMTP server), a new set replacing the old;
and the authenticator-app and recovery-code steps the same for unknown, unenrolled and
enrolled users, with or without the factor."""

from __future__ import annotations

from support.flowstack import PASSWORD
from support.totp_app import act, enroll_totp, generate_codes, session

# Sites whose policy asks for an authenticator app's code or a recovery code (either's
# weight, 2, is the threshold).
EITHER = {"questions": False, "weights": {"code": 0, "passkey": 0}}


def _factor_step(stack, user: str, kind: str, flow: str = "reset") -> str:
    started = stack.start(flow, user)
    assert started.json()["step"] == {"kind": "choose", "factors": ["totp", "recovery_code"]}
    chosen = stack.post(f"{flow}/step", {"flow": started.json()["flow"], "factor": kind})
    assert chosen.json()["step"] == {"kind": kind}, chosen.text
    return str(chosen.json()["flow"])


def test_each_code_works_once_and_its_use_is_alerted(flows, user):
    stack = flows(
        factors=EITHER,
        alerts={"recovery_code": {}},
        security={"failure_delay": 0, "reply_floor_ms": 0},
    )
    codes = generate_codes(stack, user)
    assert len(set(codes)) == 10
    record = stack.record(user)
    assert record is not None and "recovery_code" in record.factors
    assert "recovery codes generated" in [r.event for r in stack.audit(user)]

    # Typed loosely: lower case, a space for the dash.
    typed = codes[3].lower().replace("-", " ")
    reply = stack.step("reset", _factor_step(stack, user, "recovery_code"), code=typed)
    assert reply.json()["step"]["kind"] == "password", reply.text
    (mail,) = stack.smtp.wait_for(1)
    assert mail.message["Subject"] == "A recovery code of your account was used"
    assert "Codes left: 9." in mail.message.get_content()
    assert user in mail.message.get_content()
    assert stack.audit(user)[-1].event == "recovery code used, 9 left"

    again = stack.step("reset", _factor_step(stack, user, "recovery_code"), code=codes[3])
    assert again.json()["code"] == "wrong_code", again.text
    assert stack.audit(user)[-1].event == "recovery code already used"
    assert stack.record(user).wrong_answers == 1

    # A new set replaces the old one.
    fresh = generate_codes(stack, user)
    old = stack.step("reset", _factor_step(stack, user, "recovery_code"), code=codes[0])
    assert old.json()["code"] == "wrong_code", old.text
    new = stack.step("reset", _factor_step(stack, user, "recovery_code"), code=fresh[0])
    assert new.json()["step"]["kind"] == "password", new.text
    # An unlock takes them too.
    token = _factor_step(stack, user, "recovery_code", flow="unlock")
    unlocked = stack.step("unlock", token, code=fresh[1])
    assert unlocked.json()["message"] == "RES_FINISHED_UNLOCK", unlocked.text
    mails = stack.smtp.wait_for(3)
    assert "Codes left: 8." in mails[2].message.get_content()


def test_removed_codes_stop_working_and_the_owner_hears_of_it(flows, user):
    stack = flows(
        factors=EITHER,
        alerts={"factor_change": {}},
        security={"failure_delay": 0, "reply_floor_ms": 0},
    )
    codes = generate_codes(stack, user)
    stack.smtp.wait_for(1)  # the alert of the new set
    removed = act(stack, session(stack, user), "recovery_code.remove")
    assert removed.status_code == 200, removed.text
    assert "recovery_code" not in removed.json()["factors"]
    # The policy (an app or codes) is no longer met: the page is told what it needs.
    assert removed.json()["needs"], removed.text
    # The codes were all the user had: not enrolled any more (the drive reminds them).
    assert stack.record(user).enrollment is None and stack.record(user).factors == ()
    assert "recovery codes removed" in [r.event for r in stack.audit(user)]
    mails = stack.smtp.wait_for(2)
    assert mails[1].message["Subject"] == "The ways to reset your password were changed"
    # The codes left no longer work.
    reply = stack.step("reset", _factor_step(stack, user, "recovery_code"), code=codes[0])
    assert reply.json()["code"] == "wrong_code", reply.text
    # Nothing left to remove: the same reply, nothing audited (nor alerted) again.
    again = act(stack, session(stack, user), "recovery_code.remove")
    assert again.status_code == 200 and again.json()["factors"] == removed.json()["factors"]
    assert [r.event for r in stack.audit(user)].count("recovery codes removed") == 1


def _seen(reply) -> tuple:
    body = reply.json()
    step = body.get("step") or {}
    return reply.status_code, body.get("code"), tuple(sorted(step.items()))


def test_the_steps_do_not_tell_who_exists_or_has_the_factor(flows, fresh_user_name):
    """Unknown, unenrolled, enrolled with the other factor only and enrolled with both: the
    same replies at every step of both factors, wrong codes counted to the same lockout."""
    stack = flows(
        factors=EITHER,
        web={"rate_limit": 0},
        security={"lockout_threshold": 2, "failure_delay": 0, "reply_floor_ms": 0},
    )
    names = {"unknown": f"{fresh_user_name}n"}
    for cls in ("unenrolled", "app", "codes", "both"):
        names[cls] = f"{fresh_user_name}{cls[0]}"
        stack.admin.create_user(names[cls], PASSWORD)
    for cls in ("app", "both"):
        enroll_totp(stack, names[cls])
    for cls in ("codes", "both"):
        generate_codes(stack, names[cls])

    for kind, wrong in (("totp", "123456"), ("recovery_code", "ABCDE-FGHJK")):
        seen = {}
        for cls, name in names.items():
            replies = []
            for _ in range(3):  # the second wrong code locks out; the next start is refused
                started = stack.start("reset", name)
                replies.append(_seen(started))
                if started.status_code != 200:
                    continue
                chosen = stack.post("reset/step", {"flow": started.json()["flow"], "factor": kind})
                replies.append(_seen(chosen))
                replies.append(_seen(stack.step("reset", chosen.json()["flow"], code=wrong)))
            seen[cls] = [(status, code, dict(step).get("kind")) for status, code, step in replies]
        assert len({tuple(s) for s in seen.values()}) == 1, seen
        assert seen["unknown"].count((401, "wrong_code", None)) == 1
        assert seen["unknown"][-2:] == [(423, "locked_out", None)] * 2
        stack.clock.advance(stack.config.security.lockout_minutes * 60 + 1)
