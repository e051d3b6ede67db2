"""Verification codes under attack, through the real relay and sealed UDP on both
directories: a hard cap of wrong tries per code (security review 3), and limits on how many
codes are sent per user and per destination (security review 9)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

NO_RATE_LIMIT = {"rate_limit": 0}
AUTO = {"enabled": True, "email": True, "sms": False, "auto_enroll": True}


def _problem(reply):
    assert reply.headers["content-type"].startswith("application/problem+json"), reply.text
    return reply.json()


def _mail(stack, user):
    return f"{user}@lab.example.com" if stack.kind == "ad" else f"{user}@example.org"


def _shape(reply):
    """What an observer compares between two names: status, keys, step kind, how many
    destinations (their masked text differs per name for everybody)."""
    body = reply.json()
    return (
        reply.status_code,
        tuple(sorted(body)),
        body["step"]["kind"],
        len(body["step"]["destinations"]),
    )


def _parallel(calls, workers=32):
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda call: call(), calls))


def test_parallel_wrong_codes_kill_the_code(flows, user):
    """security review 3: 300 parallel wrong codes get no more than max_code_attempts
    tries; then even the right code is refused, and a new start sends a code that works"""
    stack = flows(verification=AUTO, web=NO_RATE_LIMIT)
    flow = stack.start("reset", user).json()["flow"]
    code = stack.code_from_mail(_mail(stack, user))
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    replies = _parallel([lambda: stack.step("reset", flow, code=wrong)] * 300)
    got = [_problem(r)["code"] for r in replies]
    assert got.count("wrong_code") == 2, got
    assert got.count("code_dead") == 298
    got = _problem(stack.step("reset", flow, code=code))
    assert (got["code"], got["message"]) == ("code_dead", "RES_CODE_DEAD")
    stack.clock.advance(61)  # the cooldown between two codes
    flow = stack.start("reset", user).json()["flow"]
    stack.smtp.wait_for(2)
    new_code = stack.code_from_mail(_mail(stack, user))
    assert stack.step("reset", flow, code=new_code).json()["step"]["kind"] == "password"


def test_the_cap_applies_after_questions_too(flows, user):
    """security review 3: enrolled users' codes die after the configured number of tries,
    whether or not wrong codes count toward the lockout"""
    stack = flows(verification={"enabled": True, "max_code_attempts": 5})
    assert stack.enroll(user).status_code == 200
    flow = stack.answer_all("reset", user).json()["flow"]
    code = stack.code_from_mail(_mail(stack, user))
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    got = [_problem(stack.step("reset", flow, code=wrong))["code"] for _ in range(6)]
    assert got == ["wrong_code"] * 4 + ["code_dead"] * 2
    assert _problem(stack.step("reset", flow, code=code))["code"] == "code_dead"
    assert stack.record(user).wrong_answers == 0


def test_unknown_names_codes_die_the_same_way(flows, user, fresh_user_name):
    """security review 3: a decoy's code step answers the same sequence as a real user's"""
    stack = flows(verification=AUTO)
    sequences = []
    for name in (user, f"nobody{fresh_user_name}"):
        start = stack.start("reset", name)
        flow = start.json()["flow"]
        got = [_problem(stack.step("reset", flow, code="000000"))["code"] for _ in range(4)]
        again = stack.start("reset", name)  # within the cooldown: the same dead code
        got += [_problem(stack.step("reset", again.json()["flow"], code="000000"))["code"]]
        sequences.append((_shape(start), got, _shape(again)))
    assert sequences[0] == sequences[1]
    assert sequences[0][1] == ["wrong_code", "wrong_code", "code_dead", "code_dead", "wrong_code"]


def test_twenty_starts_send_one_code_within_the_cooldown(flows, user, fresh_user_name):
    """security review 9: starts within the cooldown re-show the code step and send
    nothing; the code already sent works in the latest flow; the replies look like an
    unknown name's"""
    stack = flows(verification=AUTO, web=NO_RATE_LIMIT)
    replies = [stack.start("reset", user) for _ in range(20)]
    assert len(stack.smtp.wait_for(1)) == 1
    unknown = stack.start("reset", f"nobody{fresh_user_name}")
    assert {_shape(r) for r in replies} == {_shape(unknown)}
    assert len({tuple(r.json()["step"]["destinations"]) for r in replies}) == 1
    code = stack.code_from_mail(_mail(stack, user))
    last = replies[-1].json()["flow"]
    assert stack.step("reset", last, code=code).json()["step"]["kind"] == "password"


def test_a_daily_cap_on_codes_per_user(flows, user):
    """security review 9: past the cooldown a new start sends a new code, up to
    max_codes_per_day in 24 hours; then starts still show the code step, send nothing,
    and no code works; a day later codes are sent again"""
    stack = flows(verification={**AUTO, "max_codes_per_day": 3}, web=NO_RATE_LIMIT)
    for _ in range(20):
        reply = stack.start("reset", user)
        assert reply.json()["step"]["kind"] == "code"
        stack.clock.advance(61)
    assert len(stack.smtp.wait_for(3)) == 3
    flow = reply.json()["flow"]
    old_code = stack.code_from_mail(_mail(stack, user))
    assert _problem(stack.step("reset", flow, code=old_code))["code"] == "wrong_code"
    stack.clock.advance(86400)
    flow = stack.start("reset", user).json()["flow"]
    assert len(stack.smtp.wait_for(4)) == 4
    code = stack.code_from_mail(_mail(stack, user))
    assert stack.step("reset", flow, code=code).json()["step"]["kind"] == "password"


def test_parallel_starts_send_one_code(flows, user):
    """security review 9: parallel starts for one user send one code"""
    stack = flows(verification=AUTO, web=NO_RATE_LIMIT)
    replies = _parallel([lambda: stack.start("reset", user)] * 20)
    assert {r.status_code for r in replies} == {200}
    assert len(stack.smtp.wait_for(1)) == 1
    code = stack.code_from_mail(_mail(stack, user))
    flow = stack.start("reset", user).json()["flow"]  # within the cooldown: the same code
    assert len(stack.smtp.wait_for(1)) == 1
    assert stack.step("reset", flow, code=code).json()["step"]["kind"] == "password"


def test_a_shared_address_is_capped_across_accounts(flows, kind, request, fresh_user_name):
    """security review 9: an address several accounts share gets no more than
    max_codes_per_destination_per_day codes, and the store never holds it in clear"""
    from support.flowstack import PASSWORD

    admin = request.getfixturevalue("samba_admin" if kind == "ad" else "slapd_admin")
    shared = f"team-{fresh_user_name}@shared.example"
    names = [f"{fresh_user_name[:7]}{i}" for i in range(4)]
    for name in names:
        admin.create_user(name, PASSWORD)
        admin.set_attribute(name, "mail", shared)
    stack = flows(
        verification={**AUTO, "code_cooldown": 0, "max_codes_per_destination_per_day": 2},
        web=NO_RATE_LIMIT,
    )
    replies = [stack.start("reset", name) for name in names]
    assert {r.json()["step"]["kind"] for r in replies} == {"code"}
    assert len(stack.mails(shared)) == 2
    stored = b"".join(p.read_bytes() for p in stack.data_dir.rglob("*") if p.is_file())
    assert shared.encode() not in stored and b"shared.example" not in stored


def test_a_limit_never_lets_a_user_skip_the_code(flows, user):
    """security review 9: with fallback_without_code, a code withheld by a limit still
    stands between the questions and the new password"""
    stack = flows(
        verification={"enabled": True, "fallback_without_code": True, "max_codes_per_day": 1},
        web=NO_RATE_LIMIT,
    )
    assert stack.enroll(user).status_code == 200
    assert stack.answer_all("reset", user).json()["step"]["kind"] == "code"
    stack.clock.advance(61)
    assert stack.answer_all("reset", user).json()["step"]["kind"] == "code"
    assert len(stack.smtp.wait_for(1)) == 1
