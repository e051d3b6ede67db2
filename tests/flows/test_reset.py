"""Reset on both directories (apr checklist 29-35, 45-50, 53; 51-52 in
test_reset_history.py) and what unknown users see."""

from __future__ import annotations

from support.flowstack import ANSWERS, PASSWORD, QUESTIONS

NEW = "Reset!Passw0rd-9"


def _problem(reply):
    assert reply.headers["content-type"].startswith("application/problem+json"), reply.text
    return reply.json()


def _shape(reply) -> tuple[int, str, object]:
    """What a user (or an attacker) can compare between two replies."""
    body = reply.json()
    step = body.get("step")
    if step is not None:
        step = tuple(sorted((k, v) for k, v in step.items() if k != "prompt"))
    return reply.status_code, reply.headers["content-type"], step or body.get("code")


def test_unknown_unenrolled_and_wrong_answers_look_alike(flows, user, fresh_user_name):
    """apr checklist 29: nobody learns who exists or who enrolled"""
    stack = flows()
    enrolled = f"{fresh_user_name}x"
    stack.admin.create_user(enrolled, PASSWORD)
    assert stack.enroll(enrolled).status_code == 200
    names = {"unknown": "nobody-at-all", "unenrolled": user, "enrolled": enrolled}
    starts = {k: stack.start("reset", name) for k, name in names.items()}
    assert len({_shape(r) for r in starts.values()}) == 1
    for reply in starts.values():
        assert reply.json()["step"]["prompt"] in QUESTIONS
    answers = {
        k: stack.step("reset", r.json()["flow"], answer="a wrong answer") for k, r in starts.items()
    }
    assert len({_shape(r) for r in answers.values()}) == 1
    assert _problem(answers["unknown"])["code"] == "wrong_answer"
    # A decoy keeps its questions: asking twice shows the same first question.
    again = stack.start("reset", names["unknown"]).json()["step"]["prompt"]
    assert again == starts["unknown"].json()["step"]["prompt"]


def test_questions_come_one_at_a_time_in_order(flows, user):
    """apr checklist 30, 31"""
    stack = flows(security={"failure_delay": 0})  # three wrong answers would slow the fourth
    assert stack.enroll(user).status_code == 200
    reply = stack.start("reset", user).json()
    for index, (question, answer) in enumerate(zip(QUESTIONS, ANSWERS, strict=False), 1):
        assert reply["step"] == {"kind": "question", "index": index, "total": 3, "prompt": question}
        wrong = stack.step("reset", reply["flow"], answer="nope")
        assert _problem(wrong)["code"] == "wrong_answer"  # no way past a question
        reply = stack.step("reset", reply["flow"], answer=answer).json()
    assert reply["step"]["kind"] == "password"


def test_wrong_answers_count_and_lock_out(flows, user):
    """apr checklist 32, 33"""
    stack = flows(security={"lockout_threshold": 3})
    assert stack.enroll(user).status_code == 200
    token = stack.start("reset", user).json()["flow"]
    for count in (1, 2):
        wrong = stack.step("reset", token, answer=f"no {count}")
        assert _problem(wrong)["code"] == "wrong_answer"
        assert stack.record(user).wrong_answers == count
    got = _problem(stack.step("reset", token, answer="no 3"))
    assert (got["code"], got["message"]) == ("locked_out", "RES_LOCKED_OUT")
    assert _problem(stack.start("reset", user))["message"] == "RES_LOCKED_OUT"
    assert _problem(stack.start("unlock", user))["message"] == "RES_LOCKED_OUT"
    assert _problem(stack.step("reset", token, answer=ANSWERS[0]))["code"] == "locked_out"


def test_threshold_zero_never_locks_out(flows, user):
    """apr checklist 34"""
    stack = flows(security={"lockout_threshold": 0, "idle_timeout": 0})
    assert stack.enroll(user).status_code == 200
    token = stack.start("reset", user).json()["flow"]
    for count in range(8):
        wrong = stack.step("reset", token, answer=f"no {count}")
        assert _problem(wrong)["code"] == "wrong_answer"
        stack.clock.advance(900)  # the longest slowdown, shorter than the lockout box
    assert not stack.record(user).locked_out
    assert stack.answer_all("reset", user).json()["step"]["kind"] == "password"


def test_answering_everything_resets_the_count(flows, user):
    """apr checklist 35"""
    stack = flows(security={"lockout_threshold": 5})
    assert stack.enroll(user).status_code == 200
    token = stack.start("reset", user).json()["flow"]
    stack.step("reset", token, answer="no")
    stack.step("reset", token, answer="nope")
    assert stack.record(user).wrong_answers == 2
    stack.answer_all("reset", user)
    assert stack.record(user).wrong_answers == 0


def test_reset_sets_the_password_and_unlocks(flows, user):
    """apr checklist 46, 47, 53; security review 12: unlike the original, a reset keeps the
    language the user enrolled with (the page's is whoever asked's choice)"""
    stack = flows()
    assert stack.enroll(user, lang="de").status_code == 200
    stack.admin.lock(user)
    token = stack.answer_all("reset", user).json()["flow"]
    stack.clock.advance(5)
    done = stack.step("reset", token, new_password=NEW)
    assert done.json() == {"status": "done", "message": "RES_FINISHED_RESET"}
    assert not stack.admin.is_locked(user)
    assert stack.admin.bind_ok(user, NEW)
    record = stack.record(user)
    assert record.last_reset is not None and record.language == "de"
    last = stack.audit(user)[-1]
    assert (last.type, last.source, last.event) == ("success", "reset", "password reset")
    # The finished flow cannot set the password again.
    assert _problem(stack.step("reset", token, new_password="Again!Passw0rd-8"))["code"] == (
        "session_expired"
    )


def test_directory_policy_applies_to_the_new_password(flows, user):
    """apr checklist 46: the page hears the directory's reason"""
    stack = flows()
    assert stack.enroll(user).status_code == 200
    token = stack.answer_all("reset", user).json()["flow"]
    got = _problem(stack.step("reset", token, new_password="Ab1!"))
    assert got["code"] == "password_too_short"
    assert stack.step("reset", token, new_password=NEW).status_code == 200


def test_must_change_after_reset(flows, user):
    """apr checklist 48"""
    stack = flows(security={"must_change_after_reset": True})
    assert stack.enroll(user).status_code == 200
    token = stack.answer_all("reset", user).json()["flow"]
    assert stack.step("reset", token, new_password=NEW).status_code == 200
    assert stack.admin.must_change(user)


def test_no_must_change_by_default(flows, user):
    """apr checklist 48 (off)"""
    stack = flows()
    assert stack.enroll(user).status_code == 200
    token = stack.answer_all("reset", user).json()["flow"]
    assert stack.step("reset", token, new_password=NEW).status_code == 200
    assert not stack.admin.must_change(user)


def test_pwreset_minimum_reset_age(flows, user):
    """apr checklist 50: the password was set just now (the user was created)"""
    stack = flows(security={"min_reset_age_days": 1})
    assert stack.enroll(user).status_code == 200
    token = stack.answer_all("reset", user).json()["flow"]
    got = _problem(stack.step("reset", token, new_password=NEW))
    assert (got["code"], got["message"]) == ("password_too_young", "RES_POLICY_TOO_YOUNG")
    stack.clock.advance(86400 + 60)
    stack2 = stack.answer_all("reset", user).json()["flow"]
    assert stack.step("reset", stack2, new_password=NEW).status_code == 200


def test_idle_flows_expire(flows, user):
    """apr checklist 70, 71"""
    stack = flows(security={"idle_timeout": 60})
    assert stack.enroll(user).status_code == 200
    token = stack.start("reset", user).json()["flow"]
    stack.clock.advance(61)
    got = _problem(stack.step("reset", token, answer=ANSWERS[0]))
    assert (got["code"], got["message"]) == ("session_expired", "RES_SESSION_EXPIRED")
    endless = flows(security={"idle_timeout": 0})
    assert endless.enroll(user).status_code == 200
    token = endless.start("reset", user).json()["flow"]
    endless.clock.advance(7 * 86400)
    reply = endless.step("reset", token, answer=ANSWERS[0])
    assert reply.json()["step"]["index"] == 2, reply.text


def test_a_forged_token_is_refused(flows, user):
    """the flow token is sealed by the server"""
    stack = flows()
    assert stack.enroll(user).status_code == 200
    token = stack.start("reset", user).json()["flow"]
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert _problem(stack.step("reset", forged, answer=ANSWERS[0]))["code"] == "session_expired"
    assert _problem(stack.step("unlock", token, answer=ANSWERS[0]))["code"] == "session_expired"


def test_must_change_skips_passwords_that_never_expire(ad_flows, samba_admin, fresh_user_name):
    """apr checklist 49. OpenLDAP has no per-account "never expires" flag (ppolicy ages
    come from the policy entry), so this is an Active Directory behaviour."""
    user = fresh_user_name
    samba_admin.create_user(user, PASSWORD)
    stack = ad_flows(security={"must_change_after_reset": True})
    stack.admin.set_never_expires(user)
    assert stack.enroll(user).status_code == 200
    token = stack.answer_all("reset", user).json()["flow"]
    assert stack.step("reset", token, new_password=NEW).status_code == 200
    assert not stack.admin.must_change(user)
    assert stack.admin.bind_ok(user, NEW)


def test_protected_accounts_get_a_clear_refusal(ad_flows, samba_lab):
    """apr checklist 119, 120: the lab's service account is delegated on OU=People only
    (least privilege), so the built-in Administrator (elsewhere, and protected by
    AdminSDHolder on Windows) cannot be reset: the user hears why. AD only: OpenLDAP has
    no protected accounts."""
    lab = samba_lab
    stack = ad_flows()
    assert stack.enroll("Administrator", password=lab.admin_password).status_code == 200
    token = stack.answer_all("reset", "Administrator").json()["flow"]
    reply = stack.step("reset", token, new_password="Admin!Passw0rd-99")
    got = reply.json()
    assert (got["code"], got["message"]) == ("directory_refused", "RES_DIRECTORY_REFUSED")
    assert "not allowed" in got["params"]["reason"]
    with lab.user_session(lab.admin_upn, lab.admin_password) as conn:
        assert conn.bound, "the Administrator's password is unchanged"


def test_decoys_do_the_same_slow_work(flows, user, fresh_user_name, monkeypatch):
    """issue 3: replies to unknown and unenrolled users take the same Argon2id work as a
    wrong answer of an enrolled user, so timing does not tell them apart either"""
    from pwreset.server.flows import questions

    calls: list[str] = []
    real = questions._derive

    def counting(value: str, salt: bytes, params: dict[str, int]) -> bytes:
        calls.append("derive")
        return real(value, salt, params)

    stack = flows()
    enrolled = f"{fresh_user_name}x"
    stack.admin.create_user(enrolled, PASSWORD)
    assert stack.enroll(enrolled).status_code == 200
    monkeypatch.setattr(questions, "_derive", counting)
    work = {}
    for who in ("nobody-at-all", user, enrolled):
        calls.clear()
        token = stack.start("reset", who).json()["flow"]
        at_start = len(calls)
        assert stack.step("reset", token, answer="a wrong answer").status_code == 401
        work[who] = (at_start, len(calls) - at_start)
    assert len(set(work.values())) == 1, work
    assert work[enrolled] == (0, 1)
