"""The factor framework on both directories: enroll sessions (`enroll.start`,
`enroll.factor`) and the factor kinds a record shows."""

from __future__ import annotations

from typing import Any

from pwreset.server.flows.factors import registry
from pwreset.server.flows.tokens import ENROLL_SESSION_SECONDS

from support.flowstack import PASSWORD


def _session(stack: Any, user: str, password: str = PASSWORD) -> Any:
    return stack.post(
        "enroll/start", {"domain": stack.domain, "username": user, "password": password}
    )


def test_an_enroll_session_proves_the_password_and_dispatches_to_the_factors(
    flows, user, monkeypatch
):
    """enroll.start proves the password as enroll does (audited when wrong) and says what the
    user has, needs and may add; enroll.factor runs the named action of the registry for the
    session's user, and refuses unknown actions, forged tokens and sessions past their time.
    A record shows the kinds it holds, and enrolling questions keeps the other factors."""
    stack = flows()
    wrong = _session(stack, user, "Wrong!Passw0rd-5")
    assert wrong.json()["code"] == "wrong_password", wrong.text
    assert [r.event for r in stack.audit(user)] == ["wrong password"]

    opened = _session(stack, user)
    assert opened.status_code == 200, opened.text
    assert {k: v for k, v in opened.json().items() if k != "enroll"} == {
        "has": [],
        "needs": ["questions"],
        "offer": ["questions"],
    }
    token = opened.json()["enroll"]

    seen: list[tuple[str, str]] = []

    def probe(step: Any) -> dict[str, Any]:
        with step.locked() as record:
            record.enrollment = {**(record.enrollment or {}), "probe": [1]}
            step.save(record)
        seen.append((step.username, step.request.body["code"]))
        return {"probed": True}

    monkeypatch.setitem(registry.ENROLL_ACTIONS, "probe.add", probe)
    done = stack.post("enroll/factor", {"enroll": token, "action": "probe.add", "code": "1"})
    assert done.json() == {"probed": True}, done.text
    assert [name.casefold() for name, _ in seen] == [user.casefold()]

    # Enroll adds only the kinds the site offers (here the questions alone); a kind the user
    # may hold from before can still be listed.
    app = stack.post("enroll/factor", {"enroll": token, "action": "totp.begin"})
    assert app.json()["code"] == "factor_not_offered", app.text
    listed = stack.post("enroll/factor", {"enroll": token, "action": "passkey.list"})
    assert listed.json()["passkeys"] == [], listed.text

    unknown = stack.post("enroll/factor", {"enroll": token, "action": "probe.nothing"})
    assert unknown.json()["code"] == "bad_request", unknown.text
    forged = stack.post("enroll/factor", {"enroll": token[:-4] + "AAAA", "action": "probe.add"})
    assert forged.json()["code"] == "session_expired", forged.text

    # Enrolling questions keeps what another factor stored, and the record lists the kinds.
    assert stack.enroll(user).status_code == 200
    record = stack.record(user)
    assert record is not None and record.enrollment is not None
    assert record.enrollment["probe"] == [1]
    assert record.factors == ("questions", "code")
    reopened = _session(stack, user).json()
    assert (reopened["has"], reopened["needs"]) == (["questions", "code"], [])

    stack.clock.advance(ENROLL_SESSION_SECONDS + 1)
    late = stack.post("enroll/factor", {"enroll": token, "action": "probe.add", "code": "1"})
    assert late.json()["code"] == "session_expired", late.text
    assert len(seen) == 1
