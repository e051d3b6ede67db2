"""pwreset's own lockout (security review 5, 6, 7): counted atomically, slowed down before it
locks, time-boxed, lifted by the help desk, and the same for names that are not enrolled."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from pwreset.config.schema import parse_address
from pwreset.protocol.client import exchange
from pwreset.protocol.keys import read_public_key, read_secret_key
from pwreset.protocol.messages import Request

from support.flowstack import ANSWERS, PASSWORD, QUESTIONS

GERMAN = [
    "Wie hieß Ihr erstes Haustier?",
    "In welcher Stadt sind Sie aufgewachsen?",
    "Wie hieß Ihre erste Schule?",
    "Wie lautet der Vorname Ihres ältesten Cousins?",
]


def _code(reply) -> str:
    return reply.json().get("code", "")


def _wrong(stack, token, times: int) -> list[str]:
    """`times` different wrong answers one after the other (the same one again would not
    count), waiting out each slowdown (test clock)."""
    seen = []
    for number in range(times):
        answer = f"wrong answer {number}"
        reply = stack.step("reset", token, answer=answer)
        if reply.status_code == 429:
            stack.clock.advance(float(reply.json()["params"]["retry_after"]))
            reply = stack.step("reset", token, answer=answer)
        seen.append(_code(reply))
    return seen


def _parallel_wrong(stack, token, count: int) -> Counter[str]:
    with ThreadPoolExecutor(max_workers=count) as pool:
        replies = list(
            pool.map(lambda n: stack.step("reset", token, answer=f"wrong answer {n}"), range(count))
        )
    return Counter(_code(r) for r in replies)


def test_parallel_wrong_answers_are_each_counted(flows, user):
    """security review 7: eight wrong answers sent at once on one flow are all counted (or
    refused), none lost: the count stored is the number of wrong answers the attacker was
    told about, and at the threshold the lockout comes at exactly the threshold"""
    stack = flows(web={"rate_limit": 0})
    assert stack.enroll(user).status_code == 200
    token = stack.start("reset", user).json()["flow"]
    seen = _parallel_wrong(stack, token, 8)
    assert stack.record(user).wrong_answers == seen["wrong_answer"] + seen["locked_out"], seen

    fast = flows(web={"rate_limit": 0}, security={"failure_delay": 0})
    assert fast.enroll(user).status_code == 200
    token = fast.start("reset", user).json()["flow"]
    seen = _parallel_wrong(fast, token, 8)
    assert seen == {"wrong_answer": 4, "locked_out": 4}, seen
    assert fast.record(user).wrong_answers == 5


def test_wrong_answers_are_slowed_down_before_the_lockout(flows, user):
    """security review 6: after three wrong answers in a row each try waits, twice as long
    each time, enforced by the server (so several relays do not help)"""
    stack = flows(security={"lockout_threshold": 0})
    assert stack.enroll(user).status_code == 200
    token = stack.start("reset", user).json()["flow"]
    for number in range(3):
        assert _code(stack.step("reset", token, answer=f"no {number}")) == "wrong_answer"
    slowed = stack.step("reset", token, answer=ANSWERS[0])
    assert (slowed.status_code, _code(slowed)) == (429, "rate_limited")
    assert slowed.json()["params"]["retry_after"] == "2"
    assert stack.record(user).wrong_answers == 3  # the refused try was not even looked at
    stack.clock.advance(2)
    assert _code(stack.step("reset", token, answer="no 3")) == "wrong_answer"
    assert stack.step("reset", token, answer="no 4").json()["params"]["retry_after"] == "4"


def test_the_lockout_ends_after_its_time_box(flows, user):
    """security review 6: a lockout lasts security.lockout_minutes (default 30) after the
    last wrong answer, then the user can answer again; 0 keeps it until lifted by hand"""
    stack = flows()
    assert stack.enroll(user).status_code == 200
    token = stack.start("reset", user).json()["flow"]
    assert _wrong(stack, token, 5)[-1] == "locked_out"
    stack.clock.advance(29 * 60)
    assert _code(stack.start("reset", user)) == "locked_out"
    stack.clock.advance(61)
    assert stack.answer_all("reset", user).json()["step"]["kind"] == "password"
    assert stack.record(user).wrong_answers == 0

    endless = stack.restart(security={"lockout_minutes": 0})
    token = endless.start("reset", user).json()["flow"]
    assert _wrong(endless, token, 5)[-1] == "locked_out"
    endless.clock.advance(365 * 86400)
    assert _code(endless.start("reset", user)) == "locked_out"


def _unlock(stack, user):
    return subprocess.run(
        [sys.executable, "-m", "pwreset", "users", "unlock", stack.domain, user,
         "-c", str(stack.instance / "pwreset.toml")],
        capture_output=True, text=True,
    )  # fmt: skip


def test_the_help_desk_lifts_a_lockout(flows, user, fresh_user_name):
    """security review 6: `pwreset users unlock DOMAIN USER` lifts pwreset's lockout, with
    the server running (an admin request proved with the data key) or stopped, and the
    audit log says who did it"""
    stack = flows()
    assert stack.enroll(user).status_code == 200
    token = stack.start("reset", user).json()["flow"]
    assert _wrong(stack, token, 5)[-1] == "locked_out"

    done = _unlock(stack, user)
    assert done.returncode == 0, done.stderr
    assert "lockout lifted" in done.stdout
    assert stack.answer_all("reset", user).json()["step"]["kind"] == "password"
    event = stack.audit(user)[-1]
    assert (event.type, event.source) == ("success", "admin")
    assert "pwreset users unlock" in event.event and event.web_user.startswith("console:")
    assert "not locked out" in _unlock(stack, user).stdout

    # A name that is not enrolled is locked out alike, and lifted alike.
    token = stack.start("reset", fresh_user_name).json()["flow"]
    assert _wrong(stack, token, 5)[-1] == "locked_out"
    stack.stop()
    assert _unlock(stack, fresh_user_name).returncode == 0
    again = stack.restart()
    assert again.start("reset", fresh_user_name).status_code == 200


def test_a_forged_admin_request_is_refused(flows, user):
    """security review 6: what a relay holds (the server's public key and the relay key,
    so also a stolen DMZ host) is not enough to lift a lockout"""
    stack = flows()
    assert stack.enroll(user).status_code == 200
    token = stack.start("reset", user).json()["flow"]
    assert _wrong(stack, token, 5)[-1] == "locked_out"
    body = {"domain": stack.domain, "username": user, "by": "console:x", "proof": "0" * 64}
    key = read_public_key(stack.instance / "keys" / "server.pub")
    address = parse_address(stack.config.server.listen)
    relay_key = read_secret_key(stack.config.path(stack.config.server.relay_key_file))
    request = Request("admin.unlock", "", "", body)
    reply = asyncio.run(exchange(request, address, key, relay_key=relay_key))
    assert reply.failure is not None and reply.failure.code == "bad_request"
    assert _code(stack.start("reset", user)) == "locked_out"
    # Nor to write the web console's audit rows (admin.note).
    note = {"type": "success", "domain": stack.domain, "username": user, "event": "forged",
            "ip": "", "by": "console:x", "proof": "0" * 64}  # fmt: skip
    reply = asyncio.run(
        exchange(Request("admin.note", "", "", note), address, key, relay_key=relay_key)
    )
    assert reply.failure is not None and reply.failure.code == "bad_request"
    assert not [e for e in stack.audit(user) if e.source == "console"]


def test_questions_come_in_the_page_language(flows, user):
    """security review 5a: an enrolled user's questions are shown in the language asked
    for, as a decoy's are, not in the language the user enrolled in"""
    stack = flows(enroll={"question_list": {"en": QUESTIONS, "de": GERMAN}})
    assert stack.enroll(user, lang="en").status_code == 200
    enrolled = stack.start("reset", user, lang="de").json()["step"]["prompt"]
    decoy = stack.start("reset", "nobody-at-all", lang="de").json()["step"]["prompt"]
    assert enrolled == GERMAN[0]
    assert decoy in GERMAN
    assert stack.start("reset", user, lang="en").json()["step"]["prompt"] == QUESTIONS[0]


def test_decoy_code_destinations_look_real(flows, user):
    """security review 5c: in code-only mode an unknown name is shown a destination masked
    like a real user's, at the directory's mail domain"""
    stack = flows(verification={"enabled": True, "auto_enroll": True})
    real = stack.start("reset", user).json()["step"]["destinations"]
    decoy = stack.start("reset", "zed-nobody").json()["step"]["destinations"]
    shape = re.compile(r"^(.)\*\*\*@(.+)$")
    real_match, decoy_match = shape.match(real[0]), shape.match(decoy[0])
    assert real_match and decoy_match, (real, decoy)
    assert decoy_match.group(2) == real_match.group(2)
    assert decoy_match.group(1) == "z" and len(decoy) == len(real)
    assert decoy == stack.start("reset", "zed-nobody").json()["step"]["destinations"]


def test_decoys_are_slowed_down_and_locked_out_alike(flows, user):
    """security review 5b: an unenrolled user and an unknown name get the slowdown and the
    lockout at the same tries as an enrolled user, and they end alike"""
    stack = flows(web={"rate_limit": 0})
    other = f"{user}x"
    stack.admin.create_user(other, PASSWORD)
    assert stack.enroll(other).status_code == 200
    for name in ("nobody-at-all", user, other):
        token = stack.start("reset", name).json()["flow"]
        assert _wrong(stack, token, 5) == ["wrong_answer"] * 4 + ["locked_out"], name
        assert _code(stack.start("reset", name)) == "locked_out", name
    stack.clock.advance(30 * 60 + 1)
    for name in ("nobody-at-all", user, other):
        assert stack.start("reset", name).status_code == 200, name


def test_a_decoy_goes_by_the_name_the_directory_looks_up(flows, user, fresh_user_name):
    """security review 5b, attacker pass: an unknown name's wrong answers were counted under
    one name for every spelling ("zz", "zz@elsewhere", "LAB\\zz"), and its questions chosen by
    the spelling, while the directory resolves an existing user's spellings its own way.
    Three wrong answers as "bob" and two as "bob@elsewhere.example" (no account to the
    directory: a decoy) locked an unknown name out but not an enrolled user; on AD "LAB\\zz"
    was shown other questions than "zz", "LAB\\bob" the same as "bob"."""
    stack = flows(web={"rate_limit": 0})
    assert stack.enroll(user).status_code == 200
    unknown = f"nobody{fresh_user_name}"
    prefixed = f"{stack.domain}\\{{}}"
    for spelling in ("{}@elsewhere.example", prefixed):
        after = {}
        for name in (user, unknown):
            for typed, times in ((name, 3), (spelling.format(name), 2)):
                token = stack.start("reset", typed).json()["flow"]
                _wrong(stack, token, times)
            after[name] = stack.start("reset", name).status_code
        assert after[user] == after[unknown], (spelling, after)
        stack.clock.advance(30 * 60 + 1)
    if stack.kind == "ad":
        for name in (user, unknown):
            shown = {
                _prompt(stack.start("reset", typed)) for typed in (name, prefixed.format(name))
            }
            assert len(shown) == 1, (name, shown)


def _prompt(reply) -> str:
    return reply.json()["step"]["prompt"]
