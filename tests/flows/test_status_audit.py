"""The enrollment-status API (apr checklist 103-109) and the audit log (110, 111)."""

from __future__ import annotations

from starlette.testclient import TestClient

from support.flowstack import END_USER_IP, PASSWORD


def _status(stack, path):
    return stack.relay.get(f"/pwreset/api/v1/enrollments/{path}")


def _refused(reply):
    assert reply.status_code == 403, reply.text
    assert reply.json()["code"] == "api_disabled"


def test_status_api_is_off_by_default(flows, user):
    """apr checklist 103: with no [api] table and no site setting the API answers 403"""
    stack = flows(api=None)
    assert "enrollment_status" not in (stack.instance / "pwreset.toml").read_text()
    _refused(_status(stack, f"{stack.domain}/{user}"))
    _refused(_status(stack, f"upn/{user}@{stack.domain}"))


def test_status_api_is_switched_per_site(flows, user):
    """apr checklist 103, 104 and WebAPIState per Web Interface: the site's setting wins"""
    stack = flows(api=None, sites={"pwreset": {"enrollment_status": True}})
    reply = _status(stack, f"{stack.domain}/{user}")
    assert (reply.status_code, reply.json()) == (200, {"isEnrolled": False})
    stack = stack.restart(
        api={"enrollment_status": True}, sites={"pwreset": {"enrollment_status": False}}
    )
    _refused(_status(stack, f"{stack.domain}/{user}"))


def test_status_by_domain_and_user_and_by_upn(flows, user):
    """apr checklist 104, 105, 107, 108"""
    stack = flows()
    base = "/pwreset/api/v1/enrollments"
    before = len(stack.audit())
    for path in (f"{stack.domain}/{user}", f"{stack.domain}/nobody-here"):
        reply = stack.relay.get(f"{base}/{path}")
        assert (reply.status_code, reply.json()) == (200, {"isEnrolled": False})
        assert reply.headers["cache-control"] == "no-store"
    assert stack.enroll(user).status_code == 200
    after_enroll = len(stack.audit())
    alias = stack.config.domains[0].aliases[0]
    for path in (f"{stack.domain}/{user}", f"upn/{user}@{alias}"):
        reply = stack.relay.get(f"{base}/{path}")
        assert (reply.status_code, reply.json()) == (200, {"isEnrolled": True}), path
        assert reply.headers["cache-control"] == "private, max-age=1209600"
    assert stack.relay.get(f"{base}/upn/{user}@elsewhere.example").json() == {"isEnrolled": False}
    assert len(stack.audit()) == after_enroll == before + 1  # only the enroll itself


def test_status_api_bad_paths(flows):
    """apr checklist 106"""
    stack = flows()
    for path in ("upn/no-at-sign", "upn/@", "upn/user@", "onlyone"):
        reply = _status(stack, path)
        assert reply.status_code == 400, path  # not 404: the API is there, the path is wrong
        assert reply.headers["content-type"].startswith("application/problem+json")
        assert reply.json()["code"] == "bad_request", path


def test_every_attempt_is_audited_with_all_columns(flows, user):
    """apr checklist 110, 111"""
    stack = flows()
    stack.enroll(user, password="Wrong!Passw0rd-5")
    stack.enroll(user)
    token = stack.start("reset", user).json()["flow"]
    stack.step("reset", token, answer="wrong")
    stack.admin.lock(user)
    assert stack.answer_all("unlock", user).json()["message"] == "RES_FINISHED_UNLOCK"
    change = {"domain": stack.domain, "username": user, "old_password": PASSWORD}
    stack.post("change", {**change, "new_password": "Audit!Passw0rd-6"})
    rows = stack.audit(user)
    assert [(r.type, r.source) for r in rows] == [
        ("failure", "enroll"),
        ("success", "enroll"),
        ("failure", "reset"),
        ("success", "unlock"),
        ("success", "change"),
    ]
    for row in rows:
        assert row.user == user and row.domain == stack.domain
        assert row.event and row.time > 0
        assert row.ip == END_USER_IP  # the relay's view of the end user
        assert row.web_user == ""  # anonymous access
    assert rows[2].event == "wrong answer to question 1"


def test_source_user_comes_from_a_trusted_proxy_only(flows, user):
    """apr checklist 111: the web user a trusted reverse proxy names is audited"""
    stack = flows(web={"trusted_proxies": ["10.0.0.0/8"], "web_user_header": "X-Remote-User"})
    body = {
        "domain": stack.domain,
        "username": user,
        "old_password": PASSWORD,
        "new_password": "Proxy!Passw0rd-7",
    }
    headers = {"X-Remote-User": "CORP\\helpdesk1", "X-Forwarded-For": "192.0.2.7"}
    with TestClient(stack.relay.app, client=("10.1.2.3", 40000)) as proxy:
        assert proxy.post("/pwreset/api/v1/change", json=body, headers=headers).status_code == 200
    with TestClient(stack.relay.app, client=("203.0.113.9", 40000)) as stranger:
        body["old_password"], body["new_password"] = "Proxy!Passw0rd-7", "Proxy!Passw0rd-8"
        assert (
            stranger.post("/pwreset/api/v1/change", json=body, headers=headers).status_code == 200
        )
    trusted, untrusted = stack.audit(user)
    assert (trusted.web_user, trusted.ip) == ("CORP\\helpdesk1", "192.0.2.7")
    assert (untrusted.web_user, untrusted.ip) == ("", "203.0.113.9")
