"""Enroll on both directories (apr checklist 7-28)."""

from __future__ import annotations

import pytest

from support.flowstack import ANSWERS, PASSWORD, QUESTIONS


def _problem(reply):
    assert reply.headers["content-type"].startswith("application/problem+json"), reply.text
    return reply.json()


def test_enroll_requires_username_domain_and_password(flows, user):
    """apr checklist 7"""
    stack = flows()
    for missing in ("username", "domain", "password"):
        body = {
            "domain": stack.domain,
            "username": user,
            "password": PASSWORD,
            "answers": [
                {"question": q, "answer": a} for q, a in zip(QUESTIONS, ANSWERS, strict=False)
            ],
        }
        del body[missing]
        got = _problem(stack.post("enroll", body))
        assert got["message"] == f"RES_EMPTY_FIELD_{missing.upper()}"


def test_wrong_password_fails_is_audited_and_counts_in_the_directory(flows, user):
    """apr checklist 8, 9"""
    stack = flows()
    before = stack.admin.failed_logons(user)
    got = _problem(stack.enroll(user, password="Wrong!Passw0rd-5"))
    assert got["code"] == "wrong_password"
    assert stack.admin.failed_logons(user) == before + 1
    rows = stack.audit(user)
    assert [(r.type, r.source, r.event) for r in rows] == [("failure", "enroll", "wrong password")]
    assert stack.record(user) is None


def test_the_number_of_questions_is_configured(flows, user):
    """apr checklist 10"""
    stack = flows(enroll={"questions": 2})
    assert stack.relay.get("/pwreset/api/v1/meta").json()["enroll"]["questions"] == 2
    got = _problem(stack.enroll(user, answers=ANSWERS))  # three answers: one too many
    assert got["code"] == "bad_request"
    assert stack.enroll(user, answers=ANSWERS[:2]).status_code == 200
    reply = stack.start("reset", user)
    assert reply.json()["step"]["total"] == 2


def test_an_unselected_question_is_named(flows, user):
    """apr checklist 11"""
    stack = flows()
    got = _problem(stack.enroll(user, questions=[QUESTIONS[0], " ", QUESTIONS[2]]))
    assert (got["message"], got["params"]["1"]) == ("RES_EMPTY_FIELD_QUESTION", "2")


def test_identical_questions_name_both_positions(flows, user):
    """apr checklist 12"""
    stack = flows()
    got = _problem(stack.enroll(user, questions=[QUESTIONS[0], QUESTIONS[1], QUESTIONS[0]]))
    assert got["message"] == "RES_IDENTICAL_QUESTIONS"
    assert (got["params"]["1"], got["params"]["2"]) == ("1", "3")


def test_short_answers_are_refused(flows, user):
    """apr checklist 13: only letters and digits count"""
    stack = flows(enroll={"min_answer_chars": 4})
    got = _problem(stack.enroll(user, answers=["Rex the dog", "a-b-c", "Mary 42"]))
    assert got["message"] == "RES_ANSWER_TOO_SHORT"
    assert (got["params"]["1"], got["params"]["2"]) == ("2", "4")


def test_required_email(flows, user):
    """apr checklist 14"""
    stack = flows(enroll={"email": "required"})
    assert stack.relay.get("/pwreset/api/v1/meta").json()["enroll"]["email"] == "required"
    assert _problem(stack.enroll(user))["message"] == "RES_EMPTY_FIELD_EMAIL"
    assert _problem(stack.enroll(user, email="not-an-address"))["code"] == "invalid_email"
    assert stack.enroll(user, email="me@private.example").status_code == 200
    assert stack.record(user).email == "me@private.example"


def test_answers_are_never_stored_in_clear(flows, user):
    """apr checklist 15"""
    stack = flows()
    answers = ["Zanzibar Quokka", "Xylophone Lagoon", "Marmalade 1977"]
    assert stack.enroll(user, answers=answers).status_code == 200
    files = [p for p in stack.data_dir.rglob("*") if p.is_file()]
    assert files
    needles = [a.encode() for a in answers] + [b"zanzibarquokka", QUESTIONS[0].encode()]
    for path in files:
        data = path.read_bytes()
        assert not any(n in data for n in needles), f"{path} holds an answer or a question"
    stored = stack.record(user).enrollment["questions"][0]["h"]
    assert stored["alg"] == "argon2id" and stored["salt"] and stored["hash"]


def test_same_answer_different_hashes(flows, user, fresh_user_name):
    """apr checklist 16"""
    stack = flows()
    other = f"{fresh_user_name[:-1]}z"
    stack.admin.create_user(other, PASSWORD)
    assert stack.enroll(user).status_code == 200
    assert stack.enroll(other).status_code == 200
    first = stack.record(user).enrollment["questions"][0]["h"]
    second = stack.record(other).enrollment["questions"][0]["h"]
    assert first["salt"] != second["salt"]
    assert first["hash"] != second["hash"]


def test_answers_ignore_case_and_punctuation(flows, user):
    """apr checklist 17, 18"""
    stack = flows()
    assert stack.enroll(user, answers=["O'Brien", "New-York", "Mary Ann"]).status_code == 200
    reply = stack.answer_all("reset", user, ["obrien", "NEW YORK", "maryann!"])
    assert reply.json()["step"]["kind"] == "password"


def test_reenroll_replaces_questions_and_clears_the_lockout(flows, user):
    """apr checklist 19, 20"""
    stack = flows(security={"lockout_threshold": 2})
    assert stack.enroll(user).status_code == 200
    for count in range(2):
        token = stack.start("reset", user).json()["flow"]
        stack.step("reset", token, answer=f"wrong {count}")
    assert stack.record(user).locked_out
    assert _problem(stack.start("reset", user))["message"] == "RES_LOCKED_OUT"
    new = ["Blue whale", "Green tree", "Red house"]
    questions = [QUESTIONS[3], QUESTIONS[1], QUESTIONS[2]]
    assert stack.enroll(user, answers=new, questions=questions).status_code == 200
    record = stack.record(user)
    assert (record.locked_out, record.wrong_answers) == (False, 0)
    first = stack.start("reset", user).json()
    assert first["step"]["prompt"] == QUESTIONS[3]
    assert _problem(stack.step("reset", first["flow"], answer=ANSWERS[0]))["code"] == "wrong_answer"
    assert stack.answer_all("reset", user, new).json()["step"]["kind"] == "password"


def test_only_members_may_enroll(flows, user, fresh_user_name):
    """apr checklist 21, including nested groups"""
    outer, inner = f"g{fresh_user_name[1:]}o", f"g{fresh_user_name[1:]}i"
    stack = flows(enroll={"permission": {"allow": "only", "groups": [outer]}})
    assert _problem(stack.enroll(user))["code"] == "not_permitted"
    stack.admin.create_group(inner, [user])
    stack.admin.create_group(outer, [inner])
    assert stack.enroll(user).status_code == 200


def test_excluded_groups_may_not_enroll(flows, user, fresh_user_name):
    """apr checklist 22"""
    group = f"x{fresh_user_name[1:]}"
    stack = flows(enroll={"permission": {"allow": "except", "groups": [group]}})
    stack.admin.create_group(group, [user])
    got = _problem(stack.enroll(user))
    assert got["message"] == "RES_NOT_PERMITTED"
    assert stack.audit(user)[-1].event == "not permitted to enroll"


def test_losing_the_right_to_enroll_ends_reset(flows, user, fresh_user_name):
    """apr checklist 23, reversed by security review 4: a user moved into an excluded group
    after enrolling may no longer reset (the right answers are treated as a decoy's)"""
    group = f"x{fresh_user_name[1:]}"
    stack = flows(enroll={"permission": {"allow": "except", "groups": [group]}})
    assert stack.enroll(user).status_code == 200
    stack.admin.create_group(group, [user])
    assert _problem(stack.enroll(user))["code"] == "not_permitted"
    reply = stack.start("reset", user).json()
    assert reply["step"]["kind"] == "question"
    got = _problem(stack.step("reset", reply["flow"], answer=ANSWERS[0]))
    assert got["code"] == "wrong_answer"


def test_enroll_records_time_and_language(flows, user):
    """apr checklist 24, 25"""
    stack = flows()
    assert stack.enroll(user, lang="de").status_code == 200
    record = stack.record(user)
    assert record.language == "de"
    assert record.last_enroll is not None
    assert abs(record.last_enroll - stack.clock()) < 60


def test_users_may_type_their_own_questions(flows, user):
    """apr checklist 28"""
    stack = flows(enroll={"custom_questions": True})
    mine = ["Which colour was my first bike?", "Who sat next to me in class 1?", "x" * 64]
    assert stack.enroll(user, questions=mine).status_code == 200
    assert stack.start("reset", user).json()["step"]["prompt"] == mine[0]
    too_long = _problem(stack.enroll(user, questions=[*mine[:2], "y" * 65]))
    assert too_long["code"] == "field_too_long"
    listed_only = flows()
    assert _problem(listed_only.enroll(user, questions=mine))["code"] == "unknown_question"


def test_some_questions_fixed_some_typed(flows, user):
    """apr checklist 28: `custom_questions = [false, true, true]`: the first question is
    picked from the list (only one to pick from here), the other two are the user's own
    (at most 64 characters); each slot refuses the other kind"""
    stack = flows(enroll={"custom_questions": [False, True, True],
                          "question_list": {"en": QUESTIONS[:1]}})  # fmt: skip
    mine = [QUESTIONS[0], "Which colour was my first bike?", "x" * 64]
    assert stack.enroll(user, questions=mine).status_code == 200
    record = stack.record(user)
    assert [q["q"] for q in record.enrollment["questions"]] == mine
    token = stack.answer_all("reset", user).json()["flow"]
    assert stack.step("reset", token, new_password="Mixed!Passw0rd-5").status_code == 200

    def again(questions: list[str]) -> dict:
        return _problem(stack.enroll(user, password="Mixed!Passw0rd-5", questions=questions))

    typed_first = again([mine[1], mine[0], mine[2]])
    assert (typed_first["code"], typed_first["params"]) == ("unknown_question", {"1": "1"})
    assert again([*mine[:2], QUESTIONS[0].upper()])["code"] == "identical_questions"
    assert again([*mine[:2], "y" * 65])["code"] == "field_too_long"


def test_a_typed_slot_refuses_a_listed_question(flows, user):
    """apr checklist 28: where the admin asks for the user's own question, one from the
    list is refused, and nothing is stored"""
    stack = flows(enroll={"custom_questions": [False, False, True]})
    got = _problem(stack.enroll(user, questions=QUESTIONS[:3]))
    assert (got["code"], got["message"], got["params"]) == (
        "own_question_required", "RES_OWN_QUESTION_REQUIRED", {"1": "3"})  # fmt: skip
    assert stack.record(user) is None
    mine = [*QUESTIONS[:2], "Where did we go in the summer of 1999?"]
    assert stack.enroll(user, questions=mine).status_code == 200


@pytest.mark.parametrize("disabled", [True])
def test_disabled_account_cannot_enroll(flows, kind, fresh_user_name, disabled):
    """apr checklist 7: the directory's verdict is shown once the password is proven (AD's
    data 533); ppolicy refuses a disabled account whatever the password, so OpenLDAP's
    verdict is a wrong password (security review, low)"""
    stack = flows()
    stack.admin.create_user(fresh_user_name, PASSWORD, disabled=disabled)
    expected = "account_disabled" if kind == "ad" else "wrong_password"
    assert _problem(stack.enroll(fresh_user_name))["code"] == expected
