"""The password policy in reset and change (issue 11, apr checklist 72-73): the page gets
the rules, and a new password breaking one is refused naming it before the directory sees
it, on both directories."""

from __future__ import annotations

from pathlib import Path

import pytest

from pwreset.server.passwords import read_ranges, write_breached_file

from support.flowstack import PASSWORD
from support.pwned import SAMPLE

BREACHED = "P@ssw0rd"  # in the sample, and meets both labs' own rules
FORBIDDEN = "Acme-Passw0rd!9"  # breaks only the local forbidden word
GOOD = "Reset!Passw0rd-9"


@pytest.fixture
def policy_settings(tmp_path: Path) -> dict:
    """[password_policy] with a forbidden word and the shipped sample, imported with the
    real import."""
    breached = tmp_path / "breached.bin"
    write_breached_file(breached, read_ranges(SAMPLE))
    return {"password_policy": {"forbidden_words": ["acme"], "breached_file": str(breached)}}


def _refused_rules(reply) -> str:
    assert reply.status_code == 422, reply.text
    body = reply.json()
    assert (body["code"], body["message"]) == ("password_rule", "RES_PASSWORD_RULE")
    return body["params"]["rules"]


def _rule_ids(policy: dict) -> list[str]:
    return [rule["id"] for rule in policy["rules"]]


def test_reset_refuses_a_password_breaking_a_rule(flows, user, policy_settings):
    stack = flows(**policy_settings)
    assert stack.enroll(user).status_code == 200
    reply = stack.answer_all("reset", user).json()
    step = reply["step"]
    assert step["kind"] == "password"
    assert {"forbidden_words", "breached", "user_names"} <= set(_rule_ids(step["policy"]))
    names = next(r for r in step["policy"]["rules"] if r["id"] == "user_names")
    assert user.lower() in names["params"]["tokens"]  # the proven user's own name
    token = reply["flow"]
    assert _refused_rules(stack.step("reset", token, new_password=FORBIDDEN)) == "forbidden_words"
    assert _refused_rules(stack.step("reset", token, new_password=BREACHED)) == "breached"
    assert stack.admin.bind_ok(user, PASSWORD)  # the directory never saw them
    events = [row.event for row in stack.audit(user) if row.type == "failure"]
    assert "new password refused by the password rules: breached" in events
    assert not any(BREACHED in event or FORBIDDEN in event for event in events)
    assert stack.step("reset", token, new_password=GOOD).status_code == 200
    assert stack.admin.bind_ok(user, GOOD)


def test_change_refuses_a_password_breaking_a_rule(flows, user, policy_settings):
    stack = flows(**policy_settings)
    body = {"domain": stack.domain, "username": user, "old_password": PASSWORD}
    # Both local rules broken: both named. On AD the names rule is the directory's own,
    # which change checks only once the old password is proven: a local rule stops it first.
    both = _refused_rules(stack.post("change", {**body, "new_password": f"{user}!Acme-9"}))
    expected = {"forbidden_words"} if stack.kind == "ad" else {"user_names", "forbidden_words"}
    assert set(both.split(",")) == expected
    refused = stack.post("change", {**body, "new_password": BREACHED})
    assert _refused_rules(refused) == "breached"
    assert stack.admin.bind_ok(user, PASSWORD)
    assert stack.post("change", {**body, "new_password": GOOD}).status_code == 200


def test_meta_carries_the_domains_policy(flows, policy_settings):
    stack = flows(**policy_settings)
    policy = stack.relay.get("/pwreset/api/v1/meta").json()["password_policy"]
    assert policy["version"] == 1
    ids = _rule_ids(policy)
    assert {"forbidden_words", "breached", "user_names", "history"} <= set(ids)
    words = next(r for r in policy["rules"] if r["id"] == "forbidden_words")
    assert words == {"id": "forbidden_words", "message": "RES_RULE_FORBIDDEN_WORDS",
                     "params": {"words": ["acme"]}, "checked_by": "page"}  # fmt: skip
    # The directory's own rules are read from it: both labs keep a password history.
    history = next(r for r in policy["rules"] if r["id"] == "history")
    assert history["checked_by"] == "directory" and history["params"]["n"] > 0


def test_a_missing_breached_file_stops_the_start_naming_it(flows, tmp_path):
    from pwreset.config.errors import ConfigError
    from pwreset.config.password_settings import PasswordPolicySettings
    from pwreset.server.runner import prepare

    stack = flows()
    missing = PasswordPolicySettings(breached_file=tmp_path / "nowhere.bin")
    config = stack.config.model_copy(update={"password_policy": missing})
    with pytest.raises(ConfigError, match=r"password_policy\.breached_file.*nowhere\.bin"):
        prepare(config)
