"""History and minimum age on resets (apr checklist 50-52), on both directories: the
switch `security.enforce_directory_history` decides whether the directory's history and
minimum age apply to a reset; `min_reset_age_days` is pwreset's own minimum age.

What each directory does (docs/configuration.md): OpenLDAP applies ppolicy's history and
pwdMinAge when the switch is on (the reset is written as the user) and skips them when it
is off (written again as the password administrator). Samba 4.17 has no policy-hints
control: history never applies to its resets, and with the switch on pwreset applies the
domain's minPwdAge itself."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import ldap3
import pytest

from support.flowstack import PASSWORD

NEW = "Reset!Passw0rd-9"
LATER = "Later!Passw0rd-8"
HOUR = 3600


def _problem(reply) -> dict:
    assert reply.headers["content-type"].startswith("application/problem+json"), reply.text
    return reply.json()


@pytest.fixture
def directory_min_age(kind: str, request: pytest.FixtureRequest) -> Iterator[None]:
    """The directory's own minimum password age set to one hour for the test (ppolicy's
    pwdMinAge, AD's minPwdAge), and back to 0 (the lab's) after it."""
    lab = request.getfixturevalue("samba_lab" if kind == "ad" else "slapd_lab")
    if kind == "ad":
        dn, attribute = lab.base_dn, "minPwdAge"
        values: tuple[object, object] = (-HOUR * 10_000_000, 0)  # negative 100 ns ticks
    else:
        dn, attribute = lab.policy_dn, "pwdMinAge"
        values = (str(HOUR), "0")

    def set_age(value: object) -> None:
        with lab.admin_session() as conn:
            assert conn.modify(dn, {attribute: [(ldap3.MODIFY_REPLACE, [value])]}), conn.result

    set_age(values[0])
    try:
        yield
    finally:
        set_age(values[1])


def _reset(stack, user: str, password: str):
    token = stack.answer_all("reset", user).json()["flow"]
    return stack.step("reset", token, new_password=password)


def test_history_on_resets_follows_the_switch(flows, user, kind, caplog):
    """apr checklist 51: with the switch on, a reset to a recently used password is refused
    by OpenLDAP; with it off it is accepted, like an administrator's reset on AD. Samba
    4.17 cannot apply history to a reset (it has no policy-hints control): with the switch
    on the reset goes through and the admin's log says why."""
    strict = flows(security={"enforce_directory_history": True})
    assert strict.enroll(user).status_code == 200
    strict.admin.set_password(user, NEW)  # PASSWORD is now in the history
    with caplog.at_level(logging.WARNING):
        reply = _reset(strict, user, PASSWORD)
    if kind == "ad":
        assert reply.status_code == 200, reply.text
        assert "no policy-hints control" in caplog.text
        assert "password history does not apply to resets" in caplog.text
        strict.admin.set_password(user, NEW)
    else:
        assert _problem(reply)["code"] == "password_in_history"
        assert not strict.admin.bind_ok(user, PASSWORD)
    assert strict.admin.bind_ok(user, NEW)

    lenient = flows()
    assert lenient.enroll(user, password=NEW).status_code == 200
    assert _reset(lenient, user, PASSWORD).status_code == 200
    assert lenient.admin.bind_ok(user, PASSWORD)


def test_directory_minimum_age_follows_the_switch(flows, user, directory_min_age):
    """apr checklist 51, 52: the directory's minimum age (1 hour) refuses a reset of the
    password set just now (the user was created) when the switch is on, being the
    stricter one (pwreset's own is 0), and does not apply when the switch is off"""
    strict = flows(security={"enforce_directory_history": True})
    assert strict.enroll(user).status_code == 200
    got = _problem(_reset(strict, user, NEW))
    assert (got["code"], got["message"]) == ("password_too_young", "RES_POLICY_TOO_YOUNG")
    assert strict.admin.bind_ok(user, PASSWORD)
    assert not strict.admin.bind_ok(user, NEW)

    lenient = flows()
    assert lenient.enroll(user).status_code == 200
    assert _reset(lenient, user, NEW).status_code == 200
    assert lenient.admin.bind_ok(user, NEW)


def test_pwreset_minimum_age_is_the_stricter(flows, user):
    """apr checklist 52: pwreset's own age (1 day) beats the directory's (0 in the lab)
    with the switch on, and a day later the reset goes through"""
    stack = flows(security={"enforce_directory_history": True, "min_reset_age_days": 1})
    assert stack.enroll(user).status_code == 200
    assert _problem(_reset(stack, user, NEW))["code"] == "password_too_young"
    assert stack.admin.bind_ok(user, PASSWORD)
    stack.clock.advance(86400 + 60)
    assert _reset(stack, user, LATER).status_code == 200
    assert stack.admin.bind_ok(user, LATER)
