"""Change password end to end: relay -> sealed UDP -> `pwreset server` -> real directory.

Every test runs on OpenLDAP (slapd + ppolicy) and on Samba AD, each with a fresh user.
"""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from support.stacks import Stack, secret

pytestmark = [pytest.mark.slapd, pytest.mark.samba]

OLD = "Init!Passw0rd-1"
WRONG = "Wrong!Passw0rd-7"


def change(
    relay: TestClient, stack: Stack, user: str, old: str, new: str, *, site: str = "pwreset"
) -> Any:
    return relay.post(
        f"/{site}/api/v1/change",
        json={
            "domain": stack.domain,
            "username": user,
            "old_password": secret(old),
            "new_password": secret(new),
            "lang": "en",
        },
    )


def test_change_sets_the_new_password(directory, relay, fresh_user_name):
    stack, admin = directory
    admin.create_user(fresh_user_name, secret(OLD))
    reply = change(relay, stack, fresh_user_name, OLD, "Fresh!Passw0rd-2")
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"status": "done", "message": "RES_FINISHED_CHANGE"}
    assert admin.bind_ok(fresh_user_name, "Fresh!Passw0rd-2")
    assert not admin.bind_ok(fresh_user_name, OLD)


def test_wrong_old_password_is_refused(directory, relay, fresh_user_name):
    stack, admin = directory
    admin.create_user(fresh_user_name, secret(OLD))
    reply = change(relay, stack, fresh_user_name, "Not!ThePassw0rd", "Fresh!Passw0rd-2")
    assert reply.status_code == 401
    assert reply.headers["content-type"].startswith("application/problem+json")
    body = reply.json()
    assert (body["code"], body["message"]) == ("wrong_password", "RES_WRONG_PASSWORD")
    assert admin.bind_ok(fresh_user_name, OLD)


def test_unknown_user_gets_the_same_reply_as_a_wrong_password(directory, relay):
    stack, _ = directory
    reply = change(relay, stack, "nobody-here", OLD, "Fresh!Passw0rd-2")
    assert reply.status_code == 401
    assert reply.json()["code"] == "wrong_password"


@pytest.mark.parametrize("name", ["*", "al*", "x)(uid=*", "x)(|(sAMAccountName=*"])
def test_filter_metacharacters_match_nobody(directory, relay, name):
    stack, _ = directory
    reply = change(relay, stack, name, OLD, "Fresh!Passw0rd-2")
    assert reply.json()["code"] == "wrong_password"


def test_too_short_password_is_refused_with_its_reason(directory, relay, fresh_user_name):
    stack, admin = directory
    admin.create_user(fresh_user_name, secret(OLD))
    reply = change(relay, stack, fresh_user_name, OLD, "Ab1!x")
    assert reply.status_code == 422
    body = reply.json()
    assert (body["code"], body["message"]) == ("password_too_short", "RES_POLICY_TOO_SHORT")
    assert admin.bind_ok(fresh_user_name, OLD)


def test_recent_password_is_refused_by_history(directory, relay, fresh_user_name):
    stack, admin = directory
    admin.create_user(fresh_user_name, secret(OLD))
    assert change(relay, stack, fresh_user_name, OLD, "Second!Passw0rd-2").status_code == 200
    reply = change(relay, stack, fresh_user_name, "Second!Passw0rd-2", OLD)
    assert reply.status_code == 422
    assert reply.json()["code"] == "password_in_history"
    assert admin.bind_ok(fresh_user_name, "Second!Passw0rd-2")


def test_ad_complexity_rule_is_named(samba_stack, samba_admin, fresh_user_name):
    samba_admin.create_user(fresh_user_name, secret(OLD))
    app_settings = samba_stack.config
    from pwreset.api import RelaySettings, create_app

    with TestClient(create_app(RelaySettings.from_config(app_settings))) as relay:
        reply = change(relay, samba_stack, fresh_user_name, OLD, "passwordpassword")
    body = reply.json()
    assert (body["code"], body["message"]) == ("password_complexity", "RES_POLICY_COMPLEXITY")
    # Checked from the domain's policy before the directory saw it: the rule is named.
    assert body["params"]["rules"] == "char_classes"


@pytest.mark.parametrize("old", [OLD, WRONG], ids=["right", "wrong"])
def test_locked_account_is_told_wrong_password(directory, relay, fresh_user_name, old):
    """security review, low: change must not tell a locked account from a wrong password.
    Both directories refuse a locked account's bind whatever the password (AD: data 775,
    ppolicy: accountLocked), so no password is ever proven: the reply is wrong_password,
    with the right old password as with a wrong one, and nothing changes."""
    stack, admin = directory
    admin.create_user(fresh_user_name, secret(OLD))
    admin.lock(fresh_user_name)
    reply = change(relay, stack, fresh_user_name, old, "Fresh!Passw0rd-2")
    body = reply.json()
    assert (reply.status_code, body["code"], body["message"]) == (
        401,
        "wrong_password",
        "RES_WRONG_PASSWORD",
    )
    assert admin.is_locked(fresh_user_name)
    admin.unlock(fresh_user_name)
    assert admin.bind_ok(fresh_user_name, OLD)


def test_disabled_account_with_a_wrong_password_is_told_wrong_password(
    directory, relay, fresh_user_name
):
    """security review, low: a disabled account and a wrong old password give
    wrong_password, like any wrong password"""
    stack, admin = directory
    admin.create_user(fresh_user_name, secret(OLD), disabled=True)
    reply = change(relay, stack, fresh_user_name, WRONG, "Fresh!Passw0rd-2")
    assert (reply.status_code, reply.json()["code"]) == (401, "wrong_password")


def test_disabled_account_is_named_only_when_the_password_is_proven(
    directory, relay, fresh_user_name
):
    """security review, low: AD answers "disabled" (data 533) only to the right password,
    so the user may hear it; ppolicy answers accountLocked to any password, so OpenLDAP's
    disabled (administratively locked) account gets wrong_password even with the right one"""
    stack, admin = directory
    admin.create_user(fresh_user_name, secret(OLD), disabled=True)
    reply = change(relay, stack, fresh_user_name, OLD, "Fresh!Passw0rd-2")
    expected = (403, "account_disabled") if stack.kind == "ad" else (401, "wrong_password")
    assert (reply.status_code, reply.json()["code"]) == expected


def test_must_change_user_can_change(directory, relay, fresh_user_name):
    stack, admin = directory
    admin.create_user(fresh_user_name, secret(OLD), must_change=True)
    reply = change(relay, stack, fresh_user_name, OLD, "Fresh!Passw0rd-2")
    assert reply.status_code == 200, reply.text
    assert admin.bind_ok(fresh_user_name, "Fresh!Passw0rd-2")


def test_domain_alias_and_free_text_site(directory, relay, fresh_user_name):
    stack, admin = directory
    admin.create_user(fresh_user_name, secret(OLD))
    alias = stack.config.domains[0].aliases[0]
    reply = relay.post(
        "/free/api/v1/change",
        json={
            "domain": alias.upper(),
            "username": fresh_user_name,
            "old_password": OLD,
            "new_password": secret("Alias!Passw0rd-3"),
        },
    )
    assert reply.status_code == 200, reply.text
    assert admin.bind_ok(fresh_user_name, "Alias!Passw0rd-3")


def test_unknown_domain_is_named(relay):
    reply = relay.post(
        "/pwreset/api/v1/change",
        json={"domain": "NOPE", "username": "a", "old_password": "b", "new_password": "c"},
    )
    assert reply.status_code == 400
    assert reply.json()["code"] == "unknown_domain"


def test_expired_password_can_still_be_changed(directory, relay, fresh_user_name):
    stack, admin = directory
    admin.create_user(fresh_user_name, secret(OLD))
    admin.expire_password(fresh_user_name)
    assert not admin.bind_ok(fresh_user_name, OLD)  # expired: the user cannot sign in
    reply = change(relay, stack, fresh_user_name, OLD, "Fresh!Passw0rd-4")
    assert reply.status_code == 200, reply.text
    assert admin.bind_ok(fresh_user_name, "Fresh!Passw0rd-4")


def test_expired_password_with_a_wrong_old_password_is_refused(directory, relay, fresh_user_name):
    stack, admin = directory
    admin.create_user(fresh_user_name, secret(OLD))
    admin.expire_password(fresh_user_name)
    reply = change(relay, stack, fresh_user_name, WRONG, "Fresh!Passw0rd-4")
    assert reply.json()["code"] == "wrong_password"
