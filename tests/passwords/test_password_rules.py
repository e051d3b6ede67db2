"""Each rule of the password policy refuses at its boundary and accepts just past it; the
local and the directory's rules merge into one policy, the stricter value winning."""

from __future__ import annotations

import json
import string

from hypothesis import given
from hypothesis import strategies as st

from pwreset.config.password_settings import PasswordPolicySettings
from pwreset.server.passwords import (
    DirectoryRules,
    PasswordPolicy,
    UserContext,
    from_ppolicy,
)

NOTHING_LOCAL = PasswordPolicySettings(forbid_user_names=False)
ANONYMOUS = UserContext()


def broken(policy: PasswordPolicy, password: str, user: UserContext = ANONYMOUS) -> list[str]:
    return [rule.id for rule in policy.check(password, user)]


@given(st.integers(1, 64), st.text(alphabet=string.ascii_letters + "é€😀", max_size=70))
def test_min_length_counts_characters(n: int, password: str):
    policy = PasswordPolicy.build(PasswordPolicySettings(min_length=n, forbid_user_names=False))
    assert (broken(policy, password) == ["min_length"]) == (len(password) < n)


def test_min_length_boundary_and_stricter_side_wins():
    local_12 = PasswordPolicy.build(PasswordPolicySettings(min_length=12), DirectoryRules(8))
    assert broken(local_12, "a" * 11) == ["min_length"]
    assert broken(local_12, "a" * 12) == []
    directory_14 = PasswordPolicy.build(PasswordPolicySettings(min_length=12), DirectoryRules(14))
    assert broken(directory_14, "a" * 13) == ["min_length"]
    assert broken(directory_14, "a" * 14) == []
    rule = directory_14.rules[0]
    assert (rule.params["n"], rule.origin, rule.message) == (14, "directory", "RES_RULE_MIN_LENGTH")


def test_no_length_rule_unless_one_side_sets_it():
    assert [r.id for r in PasswordPolicy.build(NOTHING_LOCAL).rules] == []
    assert broken(PasswordPolicy.build(NOTHING_LOCAL), "a") == []


def test_character_classes_boundary():
    policy = PasswordPolicy.build(PasswordPolicySettings(min_character_classes=3))
    assert broken(policy, "abcDEF") == ["char_classes"]
    assert broken(policy, "abcDEF1") == []
    assert broken(policy, "abc!12") == []  # lower, symbol, digit
    # Letters without case (here Chinese) are a class of their own, as in AD.
    assert broken(policy, "密码!a") == []  # letter, symbol, lower
    assert broken(policy, "密码1") == ["char_classes"]


def test_ad_complexity_means_three_classes_and_no_names():
    policy = PasswordPolicy.build(NOTHING_LOCAL, DirectoryRules(complexity=True))
    assert [r.id for r in policy.rules] == ["char_classes", "user_names"]
    assert broken(policy, "abcdefgh1") == ["char_classes"]
    assert broken(policy, "abcdefgH1") == []
    stricter = PasswordPolicy.build(
        PasswordPolicySettings(min_character_classes=4), DirectoryRules(complexity=True)
    )
    assert broken(stricter, "abcdefgH1") == ["char_classes"]
    assert broken(stricter, "abcdefgH1!") == []


def test_user_names_like_ad():
    policy = PasswordPolicy.build(PasswordPolicySettings())
    user = UserContext(username="jdoe", display_name="Li Müller-Lüdenscheidt, Ann")
    assert broken(policy, "xxJDoexx", user) == ["user_names"]  # any case
    assert broken(policy, "my-MÜLLER-pw", user) == ["user_names"]  # a display-name token
    assert broken(policy, "lüdenscheidt!", user) == ["user_names"]  # split at '-'
    assert broken(policy, "annual", user) == ["user_names"]  # "ann": three characters count
    assert broken(policy, "Li-Li-Li!", user) == []  # a two-character token does not
    assert broken(policy, "jdo-e", user) == []
    assert broken(policy, "xxJoxx", UserContext(username="jo")) == []  # short account name


def test_user_names_rule_can_be_turned_off():
    off = PasswordPolicy.build(PasswordPolicySettings(forbid_user_names=False))
    assert broken(off, "jdoe2024", UserContext(username="jdoe")) == []


def test_forbidden_words_any_case():
    policy = PasswordPolicy.build(
        PasswordPolicySettings(forbid_user_names=False, forbidden_words=["Acme", "widget"])
    )
    assert broken(policy, "I-love-ACME-9") == ["forbidden_words"]
    assert broken(policy, "xWidGetx") == ["forbidden_words"]
    assert broken(policy, "acm-e widge") == []


def test_minimum_age_both_directions():
    policy = PasswordPolicy.build(NOTHING_LOCAL, DirectoryRules(min_age_seconds=86400))
    now = 1_800_000_000.0
    young = UserContext(password_set_at=now - 86399, now=now)
    old_enough = UserContext(password_set_at=now - 86400, now=now)
    assert broken(policy, "anything", young) == ["min_age"]
    assert broken(policy, "anything", old_enough) == []
    assert broken(policy, "anything") == []  # a flow that passes no date: not checked


def test_history_is_shown_and_left_to_the_directory():
    policy = PasswordPolicy.build(NOTHING_LOCAL, DirectoryRules(history=24))
    (rule,) = policy.rules
    assert (rule.id, rule.params, rule.checked_by) == ("history", {"n": 24}, "directory")
    assert broken(policy, "anything") == []


def test_ppolicy_length_counts_only_when_slapd_checks_quality():
    assert from_ppolicy(10, 5, 3600, 0) == DirectoryRules(0, False, 5, 3600.0)
    for quality in (1, 2):
        assert from_ppolicy(10, 5, 3600, quality).min_length == 10
    policy = PasswordPolicy.build(NOTHING_LOCAL, from_ppolicy(10, 5, 3600, 2))
    assert [r.id for r in policy.rules] == ["min_length", "history", "min_age"]


def test_description_is_json_and_names_tokens_only_for_a_known_user():
    policy = PasswordPolicy.build(
        PasswordPolicySettings(min_length=10, forbidden_words=["acme"]),
        DirectoryRules(8, True, 24, 172800),
    )
    anonymous = json.loads(json.dumps(policy.describe()))
    assert anonymous["version"] == 1
    assert [r["id"] for r in anonymous["rules"]] == [
        "min_length",
        "char_classes",
        "user_names",
        "forbidden_words",
        "history",
        "min_age",
    ]
    names = anonymous["rules"][2]
    assert names == {
        "id": "user_names",
        "message": "RES_RULE_USER_NAMES",
        "params": {"min_token": 3, "tokens": []},
        "checked_by": "page",
    }
    assert anonymous["rules"][5]["params"] == {"days": 2}
    known = policy.describe(UserContext("jdoe", "John Doe"))
    assert known["rules"][2]["params"]["tokens"] == ["jdoe", "john", "doe"]
