"""The help desk's server side (issue 13) on both directories, through the admin requests
the web console sends: a caller verified by a code sent to their own address or by their
answers (wrong ones counted toward pwreset's lockout), then unlocked and reset to a one-time
password that must be changed at next logon; every write refused without a verification;
no code or password in the audit, the log or the files."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import time
from typing import Any

import pytest

import pwreset.cli  # noqa: F401 - loads the console's modules in the order they need
from pwreset.console.admin_requests import ServerRefusedError, ask_server
from pwreset.server.directory import open_directory
from pwreset.server.flows import helpdesk
from pwreset.server.flows.pending import RESTORED

from support.flowstack import ANSWERS, PASSWORD, FlowStack
from support.secrets_scan import assert_no_secrets

CODES = {"verification": {"enabled": True, "email": True}}


class Agent:
    """A console agent asking the stack's server, as the web console does."""

    def __init__(self, stack: FlowStack, name: str = "helper") -> None:
        self.stack = stack
        self.by = f"console:{stack.domain}\\{name}"
        self.case = ""

    def ask(self, op: str, **fields: str) -> dict[str, Any]:
        body = {"by": self.by, "ip": "198.51.100.7", **fields}
        if op != helpdesk.OPEN:
            body["case"] = self.case
        reply = dict(ask_server(self.stack.config, op, body))
        self.case = reply.pop("case")
        return reply

    def refused(self, op: str, **fields: str) -> str:
        with pytest.raises(ServerRefusedError) as refusal:
            self.ask(op, **fields)
        return refusal.value.code

    def open(self, user: str) -> dict[str, Any]:
        return self.ask(helpdesk.OPEN, domain=self.stack.domain, username=user)


def _helpdesk_rows(stack: FlowStack, user: str) -> list[tuple[str, str, str]]:
    return [(e.type, e.event, e.web_user) for e in stack.audit(user) if e.source == "helpdesk"]


def test_a_caller_verified_by_code_is_unlocked_and_reset_to_a_one_time_password(
    flows, user, caplog
):
    caplog.set_level(logging.DEBUG)
    stack = flows(**CODES)
    assert stack.enroll(user).status_code == 200
    agent = Agent(stack)
    shown = agent.open(user)
    assert (shown["verified"], shown["code"], shown["questions"]) == ("", True, 3)
    # Nothing is written before the caller is verified, and the attempt is audited.
    stack.admin.lock(user)
    for op in (helpdesk.UNLOCK, helpdesk.LIFT, helpdesk.RESET):
        assert agent.refused(op) == "not_permitted"
    assert stack.admin.is_locked(user) and stack.admin.bind(user, PASSWORD).ok is False

    sent = agent.ask(helpdesk.SEND_CODE)
    assert sent["sent"] == "sent" and sent["destinations"]
    assert "@" in sent["destinations"][0] and user not in sent["destinations"][0]  # masked
    code = stack.code_from_mail(user)
    assert agent.refused(helpdesk.CHECK_CODE, code="999999x") == "wrong_code"
    assert agent.ask(helpdesk.CHECK_CODE, code=code)["verified"] == "code"
    # The code is single use: the case is verified, the code spent.
    assert stack.record(user).code is None

    unlocked = agent.ask(helpdesk.UNLOCK)
    assert unlocked["done"] == "unlocked"
    assert not stack.admin.is_locked(user) and stack.admin.bind_ok(user, PASSWORD)

    reset = agent.ask(helpdesk.RESET)
    password, must_change = reset["password"], reset["must_change"]
    assert must_change is True and len(password) >= 16
    assert not stack.admin.bind_ok(user, PASSWORD)  # the old password is gone
    assert stack.admin.must_change(user)
    # The new one is right, and the directory makes the user change it first.
    bound = stack.admin.bind(user, password)
    if stack.kind == "ad":
        assert (bound.ok, bound.detail) == (False, "773")  # "must change password"
    else:
        assert (bound.ok, bound.detail) == (True, "changeAfterReset")

    rows = _helpdesk_rows(stack, user)
    events = [event for _, event, _ in rows]
    assert events.count("help desk action refused: the caller is not verified") == 3
    assert "caller verified by the help desk with a code" in events
    assert "account unlocked by the help desk" in events
    assert "password reset by the help desk to a one-time password" in events
    assert all(by == agent.by for _, _, by in rows)
    # Neither the code nor the one-time password reaches a file, the audit or a log line.
    assert_no_secrets([stack.instance], {code, password})
    for record in (r for r in caplog.records if not r.name.startswith("mail.")):
        text = record.getMessage()
        assert code not in text and password not in text, text[:120]


def test_answers_read_out_count_toward_the_lockout_and_a_code_still_verifies(flows, user):
    stack = flows(security={"lockout_threshold": 2}, **CODES)
    assert stack.enroll(user).status_code == 200
    agent = Agent(stack)
    shown = agent.open(user)
    assert shown["answers_needed"] == 2 and shown["question"]
    # The agent sees the question's text, never an answer or its hash.
    assert not any(a in str(shown) for a in ANSWERS) and "argon2" not in str(shown)
    assert agent.refused(helpdesk.CHECK_ANSWER, answer="wrong one") == "wrong_answer"
    assert stack.record(user).wrong_answers == 1
    # The same wrong answer again is not counted twice, as on the reset page.
    assert agent.refused(helpdesk.CHECK_ANSWER, answer="Wrong One!") == "wrong_answer"
    assert stack.record(user).wrong_answers == 1
    assert agent.refused(helpdesk.CHECK_ANSWER, answer="another") == "locked_out"
    assert stack.record(user).locked_out
    # The lockout is pwreset's own: the reset page refuses the caller too...
    assert stack.start("reset", user).json()["code"] == "locked_out"
    assert agent.refused(helpdesk.CHECK_ANSWER, answer=ANSWERS[0]) == "locked_out"
    # ...and the help desk verifies them by a code instead, then lifts it.
    assert agent.ask(helpdesk.SEND_CODE)["sent"] == "sent"
    assert agent.ask(helpdesk.CHECK_CODE, code=stack.code_from_mail(user))["verified"] == "code"
    assert agent.ask(helpdesk.LIFT)["done"] == "lifted"
    assert stack.record(user).wrong_answers == 0 and not stack.record(user).locked_out

    # A new case verified by answers: the server picks the questions.
    other = Agent(stack, "another")
    question = other.open(user)["question"]
    for _ in range(2):
        index = [q for q in stack.config.enroll.question_list["en"]].index(question)
        reply = other.ask(helpdesk.CHECK_ANSWER, answer=ANSWERS[index])
        question = reply["question"]
    assert reply["verified"] == "answers"
    events = [event for _, event, _ in _helpdesk_rows(stack, user)]
    counted = [e for e in events if re.fullmatch(r"wrong answer to question \d", e)]
    assert len(counted) == 2
    assert "caller verified by the help desk with 2 answers" in events
    assert "pwreset lockout lifted by the help desk" in events


def test_a_case_is_the_agents_own_and_ends(flows, user):
    stack = flows(**CODES)
    assert stack.enroll(user).status_code == 200
    agent, thief = Agent(stack), Agent(stack, "thief")
    agent.open(user)
    agent.ask(helpdesk.SEND_CODE)
    agent.ask(helpdesk.CHECK_CODE, code=stack.code_from_mail(user))
    # Another agent's session cannot use the verified case.
    thief.case = agent.case
    assert thief.refused(helpdesk.RESET) == "session_expired"
    # A case altered on the way is not one the server sealed.
    forged = Agent(stack)
    forged.case = agent.case[:-4] + ("AAAA" if not agent.case.endswith("AAAA") else "BBBB")
    assert forged.refused(helpdesk.RESET) == "session_expired"
    # Without the data key's proof there is no admin request at all.
    with pytest.raises(ServerRefusedError) as refusal:
        ask_server_without_proof(stack, agent.case)
    assert refusal.value.code == "bad_request"
    # A case ends after console.helpdesk_case_minutes (15).
    stack.clock.advance(16 * 60)
    assert agent.refused(helpdesk.RESET) == "session_expired"
    assert stack.admin.bind_ok(user, PASSWORD)
    # An agent cannot help themselves.
    self_help = Agent(stack, user)
    refused = self_help.refused(helpdesk.OPEN, domain=stack.domain, username=user)
    assert refused == "not_permitted"


def ask_server_without_proof(stack: FlowStack, case: str) -> None:
    """A reset request with a made-up proof, sealed as the console seals one."""
    import asyncio
    import os

    from pwreset.instance import RELAY_KEY
    from pwreset.protocol.client import exchange
    from pwreset.protocol.keys import read_public_key, read_secret_key
    from pwreset.protocol.messages import REQUEST_ID_SIZE, Request

    body = {"case": case, "by": f"console:{stack.domain}\\helper", "proof": "0" * 64}
    request = Request(op=helpdesk.RESET, vdir="", client_ip="", body=body,
                      request_id=os.urandom(REQUEST_ID_SIZE))  # fmt: skip
    host, port = stack.config.server.listen.rsplit(":", 1)
    reply = asyncio.run(
        exchange(
            request,
            (host, int(port)),
            read_public_key(stack.instance / "keys" / "server.pub"),
            relay_key=read_secret_key(stack.instance / RELAY_KEY),
        )
    )
    assert reply.failure is not None
    raise ServerRefusedError("", reply.failure.code, {})


# A server killed between the help desk's directory write and its audit row: the note it
# left (as pwreset.server.flows.pending.noted leaves it), then SIGKILL.
_KILLED_SERVER = """
import os, signal, sys, time
from pathlib import Path
from pwreset.server.directory.base import DirectoryUser
from pwreset.server.flows import helpdesk, pending
from pwreset.server.storage import Database
data_dir, key, domain, name, before = sys.argv[1:6]
db = Database.open(Path(data_dir), data_key=bytes.fromhex(key))
user = DirectoryUser(dn="", username=name, password_set=float(before))
row = (helpdesk.SOURCE, helpdesk.RESET_DONE)
with pending.noted(db, "reset", domain, user, name, time.time(), row=row):
    print("noted", flush=True)
    sys.stdin.readline()  # the test writes the directory, then the server dies
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_reset_cut_short_by_a_kill_is_audited_as_the_help_desks_at_the_next_start(flows, user):
    stack = flows()
    stamp = open_directory(stack.config, 0).find_user(user).password_set
    stack.stop()
    time.sleep(1.1)  # the directory stamps changes in whole seconds
    args = [str(stack.data_dir), stack.data_key.hex(), stack.domain, user, repr(stamp)]
    killed = subprocess.Popen(
        [sys.executable, "-c", _KILLED_SERVER, *args],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert killed.stdout is not None and killed.stdin is not None
    with killed.stdin, killed.stdout:
        assert killed.stdout.readline().strip() == "noted"
        stack.admin.set_password(user, "Changed!Before-Kill9", must_change=True)
        killed.stdin.write("\n")
        killed.stdin.flush()
        killed.wait(timeout=30)
    stack = stack.restart()
    rows = [(e.source, e.event) for e in stack.audit(user) if e.type == "success"]
    assert rows == [("helpdesk", helpdesk.RESET_DONE + RESTORED)]
    record = stack.record(user)
    assert record is None or record.last_reset is None  # not the user's own reset
