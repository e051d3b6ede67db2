"""A lossy DMZ link (issue 9): the relay and the server in namespaces of their own, 20 % of
UDP dropped at random each way. Every flow completes through the relay's retries, with its
default settings, and wrong answers, wrong codes and lockouts are counted exactly once,
however often the relay had to resend them. Runs on both directories."""

from __future__ import annotations

import secrets as random
from collections.abc import Iterator
from typing import Any

import pytest
from pwreset_lab import SambaAdmin, SlapdAdmin

from support.dmz import DmzStack, dmz_stack
from support.flowstack import ANSWERS, PASSWORD, FlowStack
from support.netns import LinkCounters
from support.secrets_scan import assert_no_secrets, files_in, find_secrets
from support.stacks import USED_SECRETS, secret

pytestmark = [pytest.mark.slapd, pytest.mark.samba, pytest.mark.slow]

LOSS = 20
THRESHOLD = 8
WRONG_CODES = 4
WRONG_CODE = "13572468"
# Rounds of the counting test at most: a round counts only if the link dropped the reply to
# at least one counted try, so the relay resent a request the server had already handled
# (a round has 11 counted tries: none of their replies is dropped in 0.8 ** 11, 9 %).
ROUNDS = 5
SETTINGS: dict[str, Any] = {
    # Reset and unlock ask for a code after the questions (by SMS: no mail server needed).
    # Every lab user has the same phone: no cool-down or daily cap between their codes.
    # Codes of 12 digits, so the secrets scan can look for them: 6 digits turn up by chance
    # in the clear timestamps of the code-sending counts.
    "verification": {"enabled": True, "email": False, "sms": True, "length": 12,
                     "max_code_attempts": WRONG_CODES + 1, "code_cooldown": 0,
                     "max_codes_per_day": 0, "max_codes_per_destination_per_day": 0},
    # No slowdown and no reply floor, to keep the run short: both are timed on the server,
    # and the relay's first resend comes after 0.5 s, later than the floor.
    "security": {"lockout_threshold": THRESHOLD, "failure_delay": 0, "reply_floor_ms": 0},
}  # fmt: skip


@pytest.fixture(scope="module", params=["openldap", "ad"])
def dmz(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DmzStack]:
    kind = str(request.param)
    lab = request.getfixturevalue("samba_lab" if kind == "ad" else "slapd_lab")
    admin = SambaAdmin(lab) if kind == "ad" else SlapdAdmin(lab)
    root = tmp_path_factory.mktemp(f"loss-{kind}")
    with dmz_stack(kind, lab, admin, root, loss=LOSS, settings=SETTINGS) as stack:
        yield stack


def _user(stack: FlowStack) -> str:
    name = "l" + random.token_hex(4)
    stack.admin.create_user(name, PASSWORD)
    return name


def _problem(reply: Any) -> str:
    assert reply.headers["content-type"].startswith("application/problem+json"), reply.text
    return str(reply.json()["code"])


def _code_step(reply: Any) -> str:
    """The flow token of a reply that asks for the code."""
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["step"]["kind"] == "code", body
    return str(body["flow"])


def _last_code(stack: FlowStack) -> str:
    return stack.sms()[-1][1]


def _replies_dropped(before: LinkCounters, after: LinkCounters) -> int:
    return after.replies_dropped - before.replies_dropped


def test_every_flow_completes_through_the_lossy_link(dmz: DmzStack) -> None:
    stack = dmz.flows
    user = _user(stack)
    assert stack.enroll(user).status_code == 200
    # Reset: the questions, a code by SMS, a new password.
    token = _code_step(stack.answer_all("reset", user))
    reply = stack.step("reset", token, code=_last_code(stack))
    assert reply.json()["step"]["kind"] == "password", reply.text
    new = secret(f"Reset!{random.token_hex(4)}-9a")
    reply = stack.step("reset", reply.json()["flow"], new_password=new)
    assert reply.json() == {"status": "done", "message": "RES_FINISHED_RESET"}, reply.text
    assert stack.admin.bind_ok(user, new)
    # Unlock an account the directory locked.
    stack.admin.lock(user)
    token = _code_step(stack.answer_all("unlock", user))
    reply = stack.step("unlock", token, code=_last_code(stack))
    assert reply.json()["message"] == "RES_FINISHED_UNLOCK", reply.text
    assert not stack.admin.is_locked(user)
    # Change, as the user, with the password the reset set.
    changed = secret(f"Change!{random.token_hex(4)}-8b")
    body = {"domain": stack.domain, "username": user, "old_password": new, "new_password": changed}
    assert stack.post("change", body).json()["status"] == "done"
    assert stack.admin.bind_ok(user, changed)

    record = stack.record(user)
    assert record is not None
    assert None not in (record.last_enroll, record.last_reset, record.last_unlock)
    assert record.last_change is not None
    # Each effect once, however many resends it took: audit rows, and codes sent.
    done = [row.event for row in stack.audit(user) if row.type == "success"]
    assert done == ["enrolled", "code sent", "password reset", "code sent",
                    "account unlocked", "password changed"]  # fmt: skip
    assert len([sms for sms in stack.sms() if sms[2] == user]) == 2


class _Tries:
    """Counted tries (wrong answers, wrong codes) sent through the lossy link, noting how
    many of them had their reply dropped: those the relay resent after the server had
    handled them, the case that must not be counted twice."""

    def __init__(self, dmz: DmzStack) -> None:
        self.dmz = dmz
        self.resent_after_handled = 0

    def step(self, flow: str, token: str, **value: str) -> str:
        before = self.dmz.link.counters()
        code = _problem(self.dmz.flows.step(flow, token, **value))
        if _replies_dropped(before, self.dmz.link.counters()):
            self.resent_after_handled += 1
        return code


def _count_round(dmz: DmzStack, tries: _Tries) -> None:
    stack = dmz.flows
    # Wrong answers up to the lockout threshold: each counted once, locked at the last.
    # Each a different one: the same answer again would not count again anyway.
    user = _user(stack)
    assert stack.enroll(user).status_code == 200
    token = stack.start("reset", user).json()["flow"]
    for number in range(THRESHOLD - 1):
        assert tries.step("reset", token, answer=f"not the answer {number}") == "wrong_answer"
    record = stack.record(user)
    assert record is not None
    assert (record.wrong_answers, record.locked_out) == (THRESHOLD - 1, False)
    assert tries.step("reset", token, answer="not the answer either") == "locked_out"
    assert _problem(stack.step("reset", token, answer=ANSWERS[0])) == "locked_out"
    record = stack.record(user)
    assert record is not None
    assert (record.wrong_answers, record.locked_out) == (THRESHOLD, True)
    events = [r.event for r in stack.audit(user) if r.type != "success"]
    assert events.count("wrong answer to question 1") == THRESHOLD
    assert events.count(f"locked out after {THRESHOLD} wrong answers") == 1
    assert len(events) == THRESHOLD + 1  # nothing else: the refused try is not counted

    # Wrong codes: the code survives WRONG_CODES wrong tries (one counted twice would kill
    # it), and the right one after them still works.
    user = _user(stack)
    assert stack.enroll(user).status_code == 200
    token = _code_step(stack.answer_all("reset", user))
    for _ in range(WRONG_CODES):
        assert tries.step("reset", token, code=WRONG_CODE) == "wrong_code"
    record = stack.record(user)
    assert record is not None and record.code is not None
    assert record.code["tries"] == WRONG_CODES
    wrong_codes = [r for r in stack.audit(user) if r.event == "wrong verification code"]
    assert len(wrong_codes) == WRONG_CODES
    reply = stack.step("reset", token, code=_last_code(stack))
    assert reply.json()["step"]["kind"] == "password", reply.text


def test_retried_wrong_answers_and_codes_are_counted_once(dmz: DmzStack) -> None:
    tries = _Tries(dmz)
    for _ in range(ROUNDS):
        _count_round(dmz, tries)
        if tries.resent_after_handled:
            return
    pytest.fail(f"in {ROUNDS} rounds the link dropped no reply to a counted try")


def test_no_secret_in_the_files_of_the_lossy_runs(dmz: DmzStack, request: Any) -> None:
    """The secrets scan over everything these runs wrote (instance, data, the server's log,
    both processes' output), and the lab directory's logs."""
    stack = dmz.flows
    user = _user(stack)
    answers = [secret(f"{word}{random.token_hex(4)}") for word in ("Alpha", "Bravo", "Delta")]
    assert stack.enroll(user, answers=answers).status_code == 200
    token = stack.start("reset", user).json()["flow"]
    wrong = secret(f"Wrong{random.token_hex(4)}")
    assert _problem(stack.step("reset", token, answer=wrong)) == "wrong_answer"
    lab = request.getfixturevalue("samba_lab" if stack.kind == "ad" else "slapd_lab")
    files = dmz.files()
    names = {p.name for p in files}
    assert {"server.log", "server.out", "web.out"} <= names, names
    assert any("audit" in str(p) for p in files)
    # At least 8 characters: the codes and the wrong code, not a shorter value of another
    # test, which could turn up by chance.
    assert_no_secrets(files, USED_SECRETS | {lab.service_password}, min_length=8)
    lab_logs = [p for p in files_in([lab.root]) if p.suffix in (".log", ".out")]
    assert find_secrets(lab_logs, USED_SECRETS, min_length=8) == []
