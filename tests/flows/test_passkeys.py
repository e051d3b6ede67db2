"""Passkeys on both directories, through the relay, with a software authenticator: enroll
(several, one removed), reset and unlock with one, the refusals (someone else's passkey, a
replayed answer, a cloned authenticator), and decoys that meet the same passkey step."""

from __future__ import annotations

import json
import time
from typing import Any

from support.authenticator import SoftAuthenticator
from support.flowstack import PASSWORD, FlowStack
from support.totp_app import act, session

ORIGIN = "https://pw.example.org"
# A site whose relying party is example.org, offering questions (weight 1) or a passkey
# (weight 3): a passkey alone is enough.
SETTINGS: dict[str, Any] = {
    "sites": {"pwreset": {"passkey_rp_id": "example.org", "passkey_origins": [ORIGIN]}},
    "factors": {"threshold": 3, "weights": {"code": 0, "totp": 0, "recovery_code": 0}},
}


def register(stack: FlowStack, token: str, authenticator: SoftAuthenticator, name: str) -> Any:
    begun = act(stack, token, "passkey.begin")
    assert begun.status_code == 200, begun.text
    credential = authenticator.create(begun.json()["options"])
    return act(stack, token, "passkey.finish", credential=credential, name=name)


def passkey_step(stack: FlowStack, flow: str, user: str) -> tuple[str, dict[str, Any]]:
    """Start `flow` and choose the passkey: the token and the step's options."""
    reply = stack.start(flow, user)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    if body["step"]["kind"] == "choose":
        assert "passkey" in body["step"]["factors"], body
        reply = stack.step(flow, body["flow"], factor="passkey")
        body = reply.json()
    assert body["step"]["kind"] == "passkey", body
    return body["flow"], body["step"]["options"]


def use(stack: FlowStack, flow: str, token: str, credential: dict[str, Any]) -> Any:
    return stack.post(f"{flow}/step", {"flow": token, "credential": credential})


def test_passkeys_enroll_reset_and_the_refusals(flows, user):
    """A user adds two passkeys at enroll (after the password), resets with one, removes
    it (it no longer works), unlocks with the other; someone else's passkey, a replayed
    answer and a cloned authenticator are refused, counted and audited."""
    stack = flows(**SETTINGS, alerts={"factor_change": {}}, security={"reply_floor_ms": 0})
    phone, key = SoftAuthenticator(ORIGIN), SoftAuthenticator(ORIGIN)
    token = session(stack, user)
    assert register(stack, token, phone, "Phone").status_code == 200
    (mail,) = stack.smtp.wait_for(1)  # whoever knows the password cannot add one unseen
    assert mail.message["Subject"] == "The ways to reset your password were changed"
    added = register(stack, token, key, "Security key")
    assert [p["name"] for p in added.json()["passkeys"]] == ["Phone", "Security key"]
    listed = act(stack, token, "passkey.list").json()["passkeys"]
    assert [p["name"] for p in listed] == ["Phone", "Security key"]
    record = stack.record(user)
    assert record is not None and "passkey" in record.factors
    assert "public_key" in str(record.enrollment) and "public_key" not in str(listed)

    flow, options = passkey_step(stack, "reset", user)
    assert options["allowCredentials"] == [] and options["rpId"] == "example.org"
    answer = phone.get(options)
    reply = use(stack, "reset", flow, answer)
    assert reply.status_code == 200 and reply.json()["step"]["kind"] == "password", reply.text
    done = stack.step("reset", reply.json()["flow"], new_password="Passkey!Reset-21")
    assert done.json() == {"status": "done", "message": "RES_FINISHED_RESET"}, done.text
    assert stack.admin.bind_ok(user, "Passkey!Reset-21")

    # The same answer again, in a new flow: its challenge was spent.
    flow, options = passkey_step(stack, "unlock", user)
    replayed = use(stack, "unlock", flow, answer)
    assert replayed.json()["code"] == "passkey_refused", replayed.text
    # Someone else's passkey for this site.
    stranger = SoftAuthenticator(ORIGIN)
    stranger.create({"rp": {"id": "example.org"}, "user": {"id": "c3RyYW5nZXI"},
                     "challenge": "AA"})  # fmt: skip
    options = json.loads(replayed.json()["params"]["options"])
    refused = use(stack, "unlock", flow, stranger.get(options))
    assert refused.json()["code"] == "passkey_refused", refused.text

    # The phone's passkey removed: it no longer works; the key does.
    phone_id = listed[0]["id"]
    left = act(stack, token, "passkey.remove", credential_id=phone_id).json()["passkeys"]
    assert [p["name"] for p in left] == ["Security key"]
    options = json.loads(refused.json()["params"]["options"])
    gone = use(stack, "unlock", flow, phone.get(options))
    assert gone.json()["code"] == "passkey_refused", gone.text
    options = json.loads(gone.json()["params"]["options"])
    answer = key.get(options)
    # Three refusals in a row: the next try waits, as after wrong answers.
    slowed = use(stack, "unlock", flow, answer)
    assert slowed.json()["code"] == "rate_limited", slowed.text
    stack.clock.advance(float(slowed.json()["params"]["retry_after"]))
    unlocked = use(stack, "unlock", flow, answer)
    assert unlocked.json() == {"status": "done", "message": "RES_FINISHED_UNLOCK"}, unlocked.text

    # A clone of the key: its counter is behind the one the server saw last.
    key.credentials[0].sign_count = 0
    flow, options = passkey_step(stack, "unlock", user)
    cloned = use(stack, "unlock", flow, key.get(options))
    assert cloned.json()["code"] == "passkey_refused", cloned.text
    events = [row.event for row in stack.audit(user)]
    assert "passkey 'Phone' added" in events and "passkey 'Phone' removed" in events
    assert "passkey 'Phone' used" in events and "passkey 'Security key' used" in events
    assert any("cloned authenticator" in e for e in events), events
    assert sum(e.startswith("passkey refused") for e in events) == 3, events
    record = stack.record(user)
    assert record is not None and record.wrong_answers >= 1, record  # toward the lockout


def test_a_passkey_renamed_keeps_working_under_its_new_name(flows, user, fresh_user_name):
    """Renaming changes the label only: audited with both names, not alerted, the key still
    resets; a blank name, or another user's passkey named from this session, is refused and
    nothing changes."""
    stack = flows(**SETTINGS, alerts={"factor_change": {}}, security={"reply_floor_ms": 0})
    phone = SoftAuthenticator(ORIGIN)
    token = session(stack, user)
    assert register(stack, token, phone, "Phone").status_code == 200
    (listed,) = act(stack, token, "passkey.list").json()["passkeys"]
    other = f"{fresh_user_name}o"
    stack.admin.create_user(other, PASSWORD)
    theirs = session(stack, other)
    assert register(stack, theirs, SoftAuthenticator(ORIGIN), "Theirs").status_code == 200
    (their_key,) = act(stack, theirs, "passkey.list").json()["passkeys"]
    stack.smtp.wait_for(2)  # each addition alerted its owner

    renamed = act(stack, token, "passkey.rename", credential_id=listed["id"], name=" Work phone ")
    assert renamed.status_code == 200, renamed.text
    assert [(p["id"], p["name"]) for p in renamed.json()["passkeys"]] == [
        (listed["id"], "Work phone")
    ]
    same = act(stack, token, "passkey.rename", credential_id=listed["id"], name="Work phone")
    assert same.status_code == 200, same.text
    blank = act(stack, token, "passkey.rename", credential_id=listed["id"], name="  ").json()
    assert (blank["code"], blank["message"]) == ("empty_field", "RES_EMPTY_FIELD_NAME"), blank
    taken = act(stack, token, "passkey.rename", credential_id=their_key["id"], name="Mine")
    assert taken.json()["code"] == "passkey_unknown", taken.text
    assert [p["name"] for p in act(stack, token, "passkey.list").json()["passkeys"]] == [
        "Work phone"
    ]
    assert [p["name"] for p in act(stack, theirs, "passkey.list").json()["passkeys"]] == ["Theirs"]
    events = [row.event for row in stack.audit(user)]
    # Audited once: the same name again changed nothing.
    assert events.count("passkey 'Phone' renamed to 'Work phone'") == 1, events
    time.sleep(0.7)  # long enough for a mail about the rename to show
    assert len(stack.smtp.messages) == 2  # the key did not change: no alert

    flow, options = passkey_step(stack, "reset", user)
    reply = use(stack, "reset", flow, phone.get(options))
    assert reply.status_code == 200 and reply.json()["step"]["kind"] == "password", reply.text
    assert "passkey 'Work phone' used" in [row.event for row in stack.audit(user)]


def _seen(reply: Any) -> tuple[Any, ...]:
    """What an attacker compares: status, code, the step and the shape of its options."""
    body = reply.json()
    step = body.get("step") or {}
    options = {k: v for k, v in (step.get("options") or {}).items() if k != "challenge"}
    params = sorted(body.get("params") or {})
    return (
        reply.status_code,
        body.get("code"),
        step.get("kind"),
        step.get("factors"),
        options,
        params,
    )


def test_decoys_meet_the_same_passkey_step(flows, user, fresh_user_name):
    """Unknown, unenrolled, enrolled without a passkey and enrolled with one: the same
    passkey step (options with an empty allowCredentials), the same refusals of a passkey
    that is not theirs, the same slowdown and lockout."""
    # Replies, not timings, are compared here: no reply floor to wait out.
    stack = flows(**SETTINGS, web={"rate_limit": 0}, security={"reply_floor_ms": 0})
    token = session(stack, user)
    assert register(stack, token, SoftAuthenticator(ORIGIN), "Phone").status_code == 200
    questions, unenrolled = f"{fresh_user_name}q", f"{fresh_user_name}u"
    for name in (questions, unenrolled):
        stack.admin.create_user(name, PASSWORD)
    assert stack.enroll(questions).status_code == 200
    names = {"passkey": user, "questions": questions, "unenrolled": unenrolled,
             "unknown": f"{fresh_user_name}n"}  # fmt: skip
    stranger = SoftAuthenticator(ORIGIN)
    stranger.create({"rp": {"id": "example.org"}, "user": {"id": "c3RyYW5nZXI"},
                     "challenge": "AA"})  # fmt: skip
    seen: dict[str, list[tuple[Any, ...]]] = {}
    for cls, name in names.items():
        start = stack.start("reset", name)
        chosen = stack.step("reset", start.json()["flow"], factor="passkey")
        sequence = [_seen(start), _seen(chosen)]
        token, options = chosen.json()["flow"], chosen.json()["step"]["options"]
        for _ in range(8):
            reply = use(stack, "reset", token, stranger.get(options))
            sequence.append(_seen(reply))
            params = reply.json().get("params", {})
            if "options" in params:
                options = json.loads(params["options"])
            if reply.status_code == 429:
                stack.clock.advance(float(params["retry_after"]))
        sequence.append(_seen(stack.start("reset", name)))
        seen[cls] = sequence
    assert seen["passkey"] == seen["questions"] == seen["unenrolled"] == seen["unknown"], seen
    codes = [entry[1] for entry in seen["passkey"]]
    assert "passkey_refused" in codes and "rate_limited" in codes, codes
    assert codes[-1] == "locked_out", codes
