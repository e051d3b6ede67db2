"""The factor policy's arithmetic without a directory: weights and threshold, mandatory
kinds, the admin groups' two gates, what enroll needs, OUs, and the conditions."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pwreset.config.factor_settings import Condition, FactorSettings
from pwreset.config.schema import Config
from pwreset.server.directory.base import DirectoryUser
from pwreset.server.flows.factors import policy

OFFER = ("questions", "code", "totp", "passkey")
WEIGHTS = {"passkey": 3, "totp": 2, "recovery_code": 2, "code": 1, "questions": 1}


class _Groups:
    """A directory whose users are members of `groups` only."""

    def __init__(self, *groups: str) -> None:
        self.groups = {g.casefold() for g in groups}

    def is_member(self, user: DirectoryUser, groups: Any) -> bool:
        return any(g.casefold() in self.groups for g in groups)


def _user(dn: str = "uid=ann,ou=Finance,dc=example,dc=org") -> DirectoryUser:
    return DirectoryUser(dn=dn, username="ann")


def test_weights_threshold_and_mandatory_kinds() -> None:
    rules = policy.Policy(OFFER, mandatory=("code",), threshold=3, weights=WEIGHTS)
    assert not rules.met(["totp"])  # 2 < 3, and no code
    assert not rules.met(["passkey"])  # 3, but no code
    assert rules.met(["code", "totp"])
    assert rules.needs([]) == ["code", "passkey"]
    assert rules.needs(["code", "questions"]) == ["passkey"]
    assert rules.needs(["code", "passkey"]) == []


def test_admin_groups_need_two_kinds_and_questions_do_not_count() -> None:
    config = Config(factors=FactorSettings(threshold=1, admin_groups=["Admins"]))
    plain = policy.for_user(config, "pwreset", "enrolled", _Groups(), _user())
    admin = policy.for_user(config, "pwreset", "enrolled", _Groups("admins"), _user())
    assert plain.met(["questions"])
    assert not admin.met(["questions"]) and not admin.met(["questions", "code"])
    assert admin.met(["code", "passkey"])


def test_the_first_matching_group_or_ou_policy_wins() -> None:
    config = Config(
        factors=FactorSettings.model_validate(
            {
                "threshold": 1,
                "admin_groups": [],
                "policy": [
                    {"ous": ["OU=Finance, DC=example, DC=org"], "threshold": 3},
                    {"groups": ["Staff"], "threshold": 2},
                ],
            }
        )
    )
    finance = policy.for_user(config, "pwreset", "enrolled", _Groups("staff"), _user())
    staff = _user("uid=bob,ou=Sales,dc=example,dc=org")
    assert finance.threshold == 3
    assert policy.for_user(config, "pwreset", "enrolled", _Groups("staff"), staff).threshold == 2
    assert policy.for_user(config, "pwreset", "enrolled", _Groups(), staff).threshold == 1


def test_conditions_by_address_and_time() -> None:
    outside = Condition(addresses=["10.0.0.0/8"], outside=True, threshold=3)
    assert policy.holds(outside, "203.0.113.9", 0) and policy.holds(outside, "", 0)
    assert not policy.holds(outside, "10.1.2.3", 0)
    night = Condition(hours="22:00-06:00", days=["sat"], timezone="Europe/Berlin", block=True)
    berlin = ZoneInfo("Europe/Berlin")
    saturday_late = datetime(2026, 11, 28, 23, 30, tzinfo=berlin).timestamp()
    saturday_noon = datetime(2026, 11, 28, 12, 0, tzinfo=berlin).timestamp()
    sunday_late = datetime(2026, 11, 29, 23, 30, tzinfo=berlin).timestamp()
    assert policy.holds(night, "", saturday_late)
    assert not policy.holds(night, "", saturday_noon) and not policy.holds(night, "", sunday_late)
    settings = FactorSettings(conditions=[outside, night])
    assert policy.blocked(settings, "10.1.2.3", saturday_late)
    assert not policy.blocked(settings, "10.1.2.3", saturday_noon)
    raised = policy.with_conditions(policy.Policy(OFFER, threshold=2), settings, "198.51.100.1", 0)
    assert raised.threshold == 3
