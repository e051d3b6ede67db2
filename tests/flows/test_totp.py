"""Authenticator apps (TOTP) on both directories: enrolled by a confirming code in an enroll
session, then a reset with a code of the app; a code used once is refused after, also when
two submissions race; the drift window; wrong codes count toward the lockout; the key and
the recovery codes never at rest or in a log in clear."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from support.secrets_scan import assert_no_secrets
from support.totp_app import (
    PERIOD,
    act,
    app_code,
    enroll_totp,
    generate_codes,
    next_step,
    session,
)

# Sites whose policy asks for an authenticator app's code alone (its weight, 2, is the
# threshold).
TOTP_ONLY = {"questions": False, "weights": {"code": 0, "recovery_code": 0, "passkey": 0}}


def test_an_app_is_enrolled_by_a_current_code_and_resets_the_password(flows, user):
    stack = flows(factors=TOTP_ONLY, alerts={"factor_change": {}}, security={"reply_floor_ms": 0})
    token = session(stack, user)
    begun = act(stack, token, "totp.begin")
    assert begun.status_code == 200, begun.text
    shown = begun.json()
    assert shown["uri"].startswith("otpauth://totp/")
    assert f"secret={shown['secret'].replace(' ', '')}" in shown["uri"]
    # Nothing is stored before the app is confirmed, and a wrong code does not confirm it.
    wrong = act(stack, token, "totp.confirm", pending=shown["pending"], code="000000")
    if app_code(shown["secret"], stack.clock()) != "000000":
        assert wrong.json()["code"] == "wrong_code", wrong.text
    assert stack.record(user) is None or "totp" not in (stack.record(user).factors or ())
    code = app_code(shown["secret"], stack.clock())
    confirmed = act(stack, token, "totp.confirm", pending=shown["pending"], code=code)
    assert confirmed.status_code == 200, confirmed.text
    assert "totp" in confirmed.json()["factors"]
    # What the policy still needs comes with each change, for the page to say it.
    assert confirmed.json()["needs"] == [], confirmed.text
    record = stack.record(user)
    assert record is not None and "totp" in record.factors
    events = [r.event for r in stack.audit(user)]
    assert "authenticator app enrolled" in events
    assert "wrong authenticator app code" in events
    # The owner hears of it: someone who knows the password must not add an app unnoticed.
    (mail,) = stack.smtp.wait_for(1)
    assert mail.message["Subject"] == "The ways to reset your password were changed"

    next_step(stack)
    started = stack.start("reset", user)
    assert started.json()["step"] == {"kind": "totp"}, started.text
    now_code = app_code(shown["secret"], stack.clock())
    reply = stack.step("reset", started.json()["flow"], code=now_code)
    assert reply.json()["step"]["kind"] == "password", reply.text
    done = stack.step("reset", reply.json()["flow"], new_password="Totp!Passw0rd-2")
    assert done.json() == {"status": "done", "message": "RES_FINISHED_RESET"}, done.text
    assert stack.admin.bind_ok(user, "Totp!Passw0rd-2")

    # The same code again, in a new flow within its window: refused, and counted.
    again = stack.start("reset", user).json()["flow"]
    replayed = stack.step("reset", again, code=now_code)
    assert replayed.json()["code"] == "wrong_code", replayed.text
    assert stack.record(user).wrong_answers == 1
    assert stack.audit(user)[-1].event == "authenticator app code already used"

    # Removed, the app is needed again.
    removed = act(stack, session(stack, user, "Totp!Passw0rd-2"), "totp.remove")
    assert "totp" not in removed.json()["factors"], removed.text
    assert removed.json()["needs"] == ["totp"], removed.text


def test_one_code_sent_twice_at_once_is_accepted_once(flows, user):
    stack = flows(factors=TOTP_ONLY, security={"reply_floor_ms": 0})
    secret = enroll_totp(stack, user)
    tokens = [stack.start("reset", user).json()["flow"] for _ in range(2)]
    code = app_code(secret, stack.clock())
    with ThreadPoolExecutor(2) as pool:
        replies = list(pool.map(lambda t: stack.step("reset", t, code=code), tokens))
    kinds = sorted(r.json().get("step", {}).get("kind") or r.json()["code"] for r in replies)
    assert kinds == ["password", "wrong_code"], [r.text for r in replies]


def test_the_drift_window_and_the_lockout(flows, user):
    """A code one step old or ahead is accepted with the default drift of one step, two
    steps is not; with drift 0 only the current one. A code of a step up to the last one
    accepted is refused. Wrong codes lock out like wrong answers."""
    stack = flows(
        factors=TOTP_ONLY,
        security={"lockout_threshold": 4, "failure_delay": 0, "reply_floor_ms": 0},
    )
    secret = enroll_totp(stack, user)  # its confirming code used up the step before this one
    stack.clock.advance(PERIOD)

    def attempt(offset_steps: int) -> str:
        started = stack.start("reset", user).json()
        if "flow" not in started:
            return str(started["code"])
        code = app_code(secret, stack.clock() + offset_steps * PERIOD)
        body = stack.step("reset", started["flow"], code=code).json()
        return body.get("step", {}).get("kind") or body["code"]

    assert attempt(-2) == "wrong_code"
    assert attempt(+2) == "wrong_code"
    assert attempt(-1) == "password"
    stack.clock.advance(PERIOD)
    assert attempt(+1) == "password"
    assert attempt(0) == "wrong_code"  # its step comes before the one just used
    assert stack.record(user).wrong_answers == 3
    assert attempt(0) == "locked_out"
    assert attempt(0) == "locked_out"
    events = [r.event for r in stack.audit(user)]
    assert events.count("authenticator app code accepted") == 2
    assert events.count("wrong authenticator app code") == 2
    assert events.count("authenticator app code already used") == 2
    assert "locked out after 4 wrong answers" in events

    strict = stack.restart(
        factors=TOTP_ONLY,
        totp={"drift": 0},
        security={"lockout_threshold": 0, "reply_floor_ms": 0},
    )
    strict.clock.advance(3600)
    next_step(strict)
    token = strict.start("reset", user).json()["flow"]
    late = strict.step("reset", token, code=app_code(secret, strict.clock() - PERIOD))
    assert late.json()["code"] == "wrong_code"
    token = strict.start("reset", user).json()["flow"]
    now = strict.step("reset", token, code=app_code(secret, strict.clock()))
    assert now.json()["step"]["kind"] == "password", now.text


def test_the_key_and_the_codes_are_never_stored_or_logged_in_clear(flows, user, caplog):
    """The app's key and the recovery codes leave the server only in the replies that show
    them: not in the database files, the audit or the log."""
    caplog.set_level(logging.DEBUG)
    # The app asked first, recovery codes offered too (enroll adds only kinds on offer).
    app_first = {"questions": False, "mandatory": ["totp"], "weights": {"code": 0, "passkey": 0}}
    stack = flows(factors=app_first, security={"reply_floor_ms": 0})
    key = enroll_totp(stack, user)
    codes = generate_codes(stack, user)
    token = stack.start("reset", user).json()["flow"]
    assert stack.step("reset", token, code=app_code(key, stack.clock())).status_code == 200
    needles = {key, key.replace(" ", ""), *codes, *(c.replace("-", "") for c in codes)}
    assert_no_secrets([stack.instance], needles)
    for record in (r for r in caplog.records if not r.name.startswith("mail.")):
        text = record.getMessage() + str(record.exc_info or "")
        assert not any(n in text for n in needles), f"a log line holds a secret: {text[:120]}"
    for row in stack.audit():
        assert not any(n in f"{row}" for n in needles)
