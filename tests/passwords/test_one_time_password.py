"""The help desk's one-time passwords (pwreset.server.passwords.one_time): long enough for
the policy, every character class, none of the user's names or forbidden words, no two
alike, and a clear error when the policy leaves no room."""

from __future__ import annotations

import pytest

from pwreset.config.password_settings import PasswordPolicySettings
from pwreset.server.passwords import DirectoryRules, PasswordPolicy, PasswordsError, UserContext
from pwreset.server.passwords.one_time import LENGTH, one_time_password
from pwreset.server.passwords.rules import CHAR_CLASSES, CHARACTER_CLASSES, Rule, character_class

JANE = UserContext("jdoe", "Jane Doe")


def test_a_one_time_password_meets_every_rule_of_the_policy():
    settings = PasswordPolicySettings(min_character_classes=4, forbidden_words=["acme", "pass"])
    policy = PasswordPolicy.build(settings, DirectoryRules(min_length=8, complexity=True))
    made = {one_time_password(policy, JANE) for _ in range(200)}
    assert len(made) == 200  # random
    for password in made:
        assert len(password) == LENGTH and not policy.check(password, JANE)
        assert {character_class(c) for c in password} >= {"lower", "upper", "digit", "symbol"}
        assert not set(password) & set("0O1lI")  # read out over the phone: no look-alikes


def test_a_longer_minimum_makes_a_longer_password():
    policy = PasswordPolicy.build(PasswordPolicySettings(min_length=24))
    assert len(one_time_password(policy, JANE)) == 24


def test_a_policy_no_random_password_meets_is_an_error_naming_its_rules():
    # Five classes: the fifth, letters without case (CJK, Arabic), is not read out by phone.
    five = Rule(CHAR_CLASSES, {"n": 5, "classes": list(CHARACTER_CLASSES)})
    with pytest.raises(PasswordsError, match="char_classes"):
        one_time_password(PasswordPolicy((five,)), JANE)
