"""The directory's own password rules are checked before the directory sees a password
(issue 11), on both directories: a refusal names its rule, with the directory's own code
(password_too_short, password_complexity), and the directory is never asked. When the
directory's rules changed after pwreset read them, the directory still refuses with its
own reason (apr checklist 73)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import ldap3
import pytest

from support.flowstack import PASSWORD

GOOD = "Reset!Passw0rd-9"  # 16 characters, four classes, no name in it
SHORT = "Ab1!x"  # shorter than both labs' minimum of 8
# AD's complexity checks the display name's tokens: the lab's users are "<Name> Test", and
# OpenLDAP's are cn "<name> Test" (the display name when there is no displayName).
WITH_DISPLAY_NAME = "Lab!Test-Passw0rd9"


def _problem(reply) -> dict:
    assert reply.status_code == 422, reply.text
    return reply.json()


def _failures(stack, user: str) -> list[str]:
    return [row.event for row in stack.audit(user) if row.type == "failure"]


@pytest.fixture
def directory_min_length(kind: str, request: pytest.FixtureRequest) -> Iterator[Callable]:
    """Sets the directory's own minimum length (AD's minPwdLength, ppolicy's pwdMinLength)
    for the test, and puts the lab's value back after it."""
    lab = request.getfixturevalue("samba_lab" if kind == "ad" else "slapd_lab")
    dn, attribute = (
        (lab.base_dn, "minPwdLength") if kind == "ad" else (lab.policy_dn, "pwdMinLength")
    )
    with lab.admin_session() as conn:
        assert conn.search(dn, "(objectClass=*)", ldap3.BASE, attributes=[attribute])
        before = str(conn.entries[0][attribute].value)

    def set_length(value: str) -> None:
        with lab.admin_session() as conn:
            assert conn.modify(dn, {attribute: [(ldap3.MODIFY_REPLACE, [value])]}), conn.result

    yield set_length
    set_length(before)


def test_a_reset_too_short_for_the_directory_is_refused_naming_the_rule(flows, user):
    stack = flows()
    assert stack.enroll(user).status_code == 200
    token = stack.answer_all("reset", user).json()["flow"]
    got = _problem(stack.step("reset", token, new_password=SHORT))
    assert (got["code"], got["message"]) == ("password_too_short", "RES_POLICY_TOO_SHORT")
    assert got["params"]["rules"] == "min_length"
    # pwreset refused it from the domain's policy: the directory was not asked.
    failures = _failures(stack, user)
    assert "new password refused by the password rules: min_length" in failures
    assert not any("refused by the directory" in event for event in failures)
    assert stack.admin.bind_ok(user, PASSWORD)
    assert stack.step("reset", token, new_password=GOOD).status_code == 200


def test_a_change_too_short_for_the_directory_is_refused_naming_the_rule(flows, user):
    stack = flows()
    body = {"domain": stack.domain, "username": user, "old_password": PASSWORD}
    got = _problem(stack.post("change", {**body, "new_password": SHORT}))
    assert (got["code"], got["params"]["rules"]) == ("password_too_short", "min_length")
    assert "new password refused by the password rules: min_length" in _failures(stack, user)
    assert stack.admin.bind_ok(user, PASSWORD)
    assert stack.admin.failed_logons(user) == 0  # refused before any bind


def test_a_reset_is_refused_for_the_users_display_name(flows, user, kind):
    """AD's complexity refuses the display name's tokens; on OpenLDAP the local names rule
    does. The proven user's page lists the tokens, and the server refuses them."""
    settings = {} if kind == "ad" else {"password_policy": {"forbid_user_names": True}}
    stack = flows(**settings)
    assert stack.enroll(user).status_code == 200
    reply = stack.answer_all("reset", user).json()
    names = next(r for r in reply["step"]["policy"]["rules"] if r["id"] == "user_names")
    assert "test" in names["params"]["tokens"]
    got = _problem(stack.step("reset", reply["flow"], new_password=WITH_DISPLAY_NAME))
    code = "password_complexity" if kind == "ad" else "password_rule"
    assert (got["code"], got["params"]["rules"]) == (code, "user_names")
    assert stack.admin.bind_ok(user, PASSWORD)


@pytest.mark.parametrize("new", [SHORT, WITH_DISPLAY_NAME], ids=["short", "display-name"])
def test_a_change_tells_a_stranger_nothing_of_the_directorys_rules(flows, user, kind, new):
    """Before the old password is proven, change checks only the local rules from what was
    typed: a wrong old password gets wrong_password whatever the new one breaks, as it does
    for a name with no account (the directory's rules could differ per user)."""
    settings = {} if kind == "ad" else {"password_policy": {"forbid_user_names": True}}
    stack = flows(**settings)
    for name in (user, "nobody-here"):
        body = {"domain": stack.domain, "username": name, "old_password": "Not!The-Passw0rd"}
        reply = stack.post("change", {**body, "new_password": new})
        assert (reply.status_code, reply.json()["code"]) == (401, "wrong_password"), name


@pytest.fixture
def own_policy(kind: str, request: pytest.FixtureRequest) -> Iterator[Callable[[str], None]]:
    """Puts a user under a password policy of their own with a minimum length of 4 and no
    complexity (AD: a fine-grained policy, PSO; OpenLDAP: a pwdPolicySubentry), removed
    after the test."""
    lab = request.getfixturevalue("samba_lab" if kind == "ad" else "slapd_lab")
    admin = request.getfixturevalue("samba_admin" if kind == "ad" else "slapd_admin")
    if kind == "ad":
        dn = f"CN=pwreset-test-pso,CN=Password Settings Container,CN=System,{lab.base_dn}"
        minutes_30 = str(-30 * 60 * 10_000_000)  # intervals: negative 100 ns ticks
        attrs: dict[str, object] = {
            "msDS-PasswordSettingsPrecedence": "1",
            "msDS-PasswordReversibleEncryptionEnabled": "FALSE",
            "msDS-PasswordHistoryLength": "0",
            "msDS-PasswordComplexityEnabled": "FALSE",
            "msDS-MinimumPasswordLength": "4",
            "msDS-MinimumPasswordAge": "0",
            "msDS-MaximumPasswordAge": str(-90 * 86400 * 10_000_000),
            "msDS-LockoutThreshold": "0",
            "msDS-LockoutObservationWindow": minutes_30,
            "msDS-LockoutDuration": minutes_30,
        }
        classes = ["msDS-PasswordSettings"]
    else:
        dn = f"cn=pwreset-test-policy,ou=Policies,{lab.base_dn}"
        attrs = {"cn": "pwreset-test-policy", "pwdAttribute": "userPassword",
                 "pwdMinLength": "4", "pwdCheckQuality": "2", "pwdInHistory": "0"}  # fmt: skip
        classes = ["device", "pwdPolicy"]
    with lab.admin_session() as conn:
        assert conn.add(dn, classes, attrs), conn.result

    def apply_to(name: str) -> None:
        attribute = "msDS-PSOAppliesTo" if kind == "ad" else "pwdPolicySubentry"
        target, value = (dn, admin.dn(name)) if kind == "ad" else (admin.dn(name), dn)
        with lab.admin_session() as conn:
            change = {attribute: [(ldap3.MODIFY_ADD, [value])]}
            assert conn.modify(target, change), conn.result

    yield apply_to
    with lab.admin_session() as conn:
        assert conn.delete(dn), conn.result


def test_a_user_under_a_policy_of_their_own_is_held_to_it_not_the_domains(flows, user, own_policy):
    """A password the domain's rules refuse but the user's own policy allows: pwreset
    leaves the directory's rules to the directory for that user, which accepts it."""
    own_policy(user)
    stack = flows()
    assert stack.enroll(user).status_code == 200
    token = stack.answer_all("reset", user).json()["flow"]
    reply = stack.step("reset", token, new_password="abcdefg")  # 7: short, one class
    assert reply.status_code == 200, reply.text
    assert stack.admin.bind_ok(user, "abcdefg")


def test_the_directory_still_refuses_with_its_reason_when_its_rules_changed(
    flows, user, directory_min_length
):
    """Rules read when the server started, raised in the directory since: the directory
    refuses the password itself, and the page hears its code."""
    stack = flows()
    assert stack.enroll(user).status_code == 200
    directory_min_length("20")
    token = stack.answer_all("reset", user).json()["flow"]
    got = _problem(stack.step("reset", token, new_password=GOOD))
    assert got["code"] == "password_too_short"
    assert "rules" not in got.get("params", {})
    assert "refused by the directory (password_too_short)" in _failures(stack, user)
    assert stack.admin.bind_ok(user, PASSWORD)
