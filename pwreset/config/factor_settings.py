"""`[factors]`: which recovery factors a reset or unlock needs, per site and per group or
OU, the fixed stricter rule for admin groups, and the conditions (where from, when) that
raise the bar or block self-service. Without the table, a reset asks what it always asked:
the questions, then a code when verification is on."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# Every kind of factor, in the order a page offers them (the server's factor registry
# names its factors by these: server/flows/factors/base.py).
KINDS: tuple[str, ...] = ("questions", "code", "totp", "recovery_code", "passkey")
Kind = Literal["questions", "code", "totp", "recovery_code", "passkey"]

# Specops uReset's "stars": what proving each kind is worth.
DEFAULT_WEIGHTS: dict[str, int] = {
    "passkey": 3,
    "totp": 2,
    "recovery_code": 2,
    "code": 1,
    "questions": 1,
}
# Active Directory's built-in administrators: the admin rule applies to them unless
# `admin_groups` says otherwise.
DEFAULT_ADMIN_GROUPS = ["Domain Admins", "Enterprise Admins", "Schema Admins", "Administrators"]
# Entra's rule for administrators: two different kinds, neither of them questions.
ADMIN_KINDS = 2
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_weights(weights: dict[str, int] | None) -> dict[str, int] | None:
    for kind, weight in (weights or {}).items():
        if kind not in KINDS:
            raise ValueError(f"unknown factor {kind!r}; the kinds are {', '.join(KINDS)}")
        if not 0 <= weight <= 10:
            raise ValueError(f"weights.{kind} must be 0 to 10 (0: not offered)")
    return weights


class Rules(_Table):
    """How many factors: the kinds' weights must add up to `threshold`, and every
    `mandatory` kind must be among them."""

    threshold: int | None = Field(default=None, ge=1, le=20)
    mandatory: list[Kind] | None = None
    weights: dict[str, int] | None = None

    _weights = field_validator("weights")(_check_weights)


class SiteFactors(Rules):
    """One site's own rules (`[factors.sites.<site>]`), over `[factors]`."""

    questions: bool | None = None


class GroupPolicy(Rules):
    """`[[factors.policy]]`: the rules for members of `groups` or users under `ous` (the
    first entry that matches a user wins)."""

    groups: list[str] = []
    ous: list[str] = []

    @model_validator(mode="after")
    def _names_someone(self) -> GroupPolicy:
        if not self.groups and not self.ous:
            raise ValueError("a policy needs groups or ous to say whom it is for")
        return self


class Condition(_Table):
    """`[[factors.conditions]]`: when a request comes from `addresses` (or, with `outside`,
    from anywhere else) within `hours` on `days` (in `timezone`), raise the threshold to
    `threshold` or `block` self-service. Every criterion given must hold."""

    addresses: list[str] = []
    outside: bool = False
    hours: str = ""  # "HH:MM-HH:MM"; past midnight when the end is earlier
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = []
    timezone: str = "UTC"
    block: bool = False
    threshold: int | None = Field(default=None, ge=1, le=20)

    @field_validator("addresses")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for text in value:
            try:
                ipaddress.ip_network(text, strict=False)
            except ValueError:
                raise ValueError(f"{text!r} is not an address or range (10.0.0.0/8)") from None
        return value

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        if value and not _HOURS.match(value):
            raise ValueError(f"hours {value!r} must look like 08:00-18:00")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (e.g. Europe/Berlin)") from None
        return value

    @model_validator(mode="after")
    def _does_something(self) -> Condition:
        if self.block == (self.threshold is not None):
            raise ValueError("a condition either blocks (block = true) or sets a threshold")
        if not self.addresses and not self.hours and not self.days:
            raise ValueError("a condition needs addresses, hours or days")
        if self.outside and not self.addresses:
            raise ValueError("outside = true needs addresses")
        return self


class FactorSettings(_Table):
    """`[factors]`: the rules for every site, and what may change them."""

    questions: bool = True
    threshold: int = Field(default=2, ge=1, le=20)
    mandatory: list[Kind] = []
    weights: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    admin_groups: list[str] = Field(default_factory=lambda: list(DEFAULT_ADMIN_GROUPS))
    sites: dict[str, SiteFactors] = {}
    policy: list[GroupPolicy] = []
    conditions: list[Condition] = []

    @field_validator("weights")
    @classmethod
    def _weights(cls, value: dict[str, int]) -> dict[str, int]:
        _check_weights(value)
        return {**DEFAULT_WEIGHTS, **value}

    @model_validator(mode="after")
    def _mandatory_offered(self) -> FactorSettings:
        tables: list[tuple[str, Sequence[str], dict[str, int] | None, bool | None]] = [
            ("", list(self.mandatory), None, None),
            *((f"sites.{name}.", r.mandatory or [], r.weights, r.questions)
              for name, r in self.sites.items()),
            *((f"policy[{i}].", r.mandatory or [], r.weights, None)
              for i, r in enumerate(self.policy)),
        ]  # fmt: skip
        for where, mandatory, own, switch in tables:
            weights = {**self.weights, **(own or {})}
            questions = self.questions if switch is None else switch
            for kind in mandatory:
                if not weights.get(kind):
                    raise ValueError(f"{where}mandatory lists {kind!r}, whose weight is 0")
                if kind == "questions" and not questions:
                    raise ValueError(f"{where}mandatory lists questions, switched off")
        return self

    def site(self, name: str) -> SiteFactors:
        return self.sites.get(name) or SiteFactors()

    def questions_on(self, site: str) -> bool:
        """Whether `site` offers security questions at all (enroll, reset, unlock)."""
        own = self.site(site).questions
        return self.questions if own is None else own
