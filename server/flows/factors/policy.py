"""How many factors of which kinds a reset or unlock needs (`[factors]`): weights and a
threshold with mandatory kinds, per site, per group or OU (the first policy that matches),
the fixed stricter rule for admin groups, and the conditions (where from, when) that raise
the threshold or block self-service.

What a flow offers is the site's and the same for everyone, known or not: a user's groups
are read only once a factor is proven (`for_user`), never to decide what to offer."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from pwreset.config import Config
from pwreset.config.factor_settings import ADMIN_KINDS, DAYS, Condition, FactorSettings
from pwreset.server.directory.base import Directory, DirectoryUser
from pwreset.server.flows.factors.base import KINDS
from pwreset.server.flows.factors.registry import FACTORS


@dataclass(frozen=True)
class Policy:
    offer: tuple[str, ...]  # the kinds offered, in the order they are offered
    mandatory: tuple[str, ...] = ()  # asked first, in this order, and all needed
    threshold: int = 0  # the weights of the kinds proven must add up to this
    weights: Mapping[str, int] = field(default_factory=dict)
    kinds: int = 0  # at least this many different kinds that weigh something

    def met(self, proven: Iterable[str]) -> bool:
        counted = {kind for kind in proven if self.weights.get(kind, 0) > 0}
        weight = sum(self.weights[kind] for kind in counted)
        return (
            all(kind in proven for kind in self.mandatory)
            and weight >= self.threshold
            and len(counted) >= self.kinds
        )

    def needs(self, has: Iterable[str]) -> list[str]:
        """The fewest kinds to add to `has` for this policy to be met: the mandatory ones
        missing, then the heaviest offered (the order of `offer` among equals); none when
        no choice of the offered kinds can meet it."""
        have = {kind for kind in has if kind in self.offer}
        added = [kind for kind in self.mandatory if kind not in have]
        spare = sorted((k for k in self.offer if k not in have and k not in added),
                       key=lambda kind: -self.weights.get(kind, 0))  # fmt: skip
        while not self.met([*have, *added]) and spare:
            added.append(spare.pop(0))
        return added if self.met([*have, *added]) else []


def site_policy(config: Config, site: str, mode: str) -> Policy:
    """The policy a flow on `site` starts with, before anything is proven, so the same for
    every user of the site, whoever they are. Without `[factors]`: the questions and then a
    code when verification is on; a code alone where users may auto-enroll (`mode` "auto",
    and decoys, who must look like them)."""
    settings = config.factors
    verification = config.verification
    if settings is None:
        if verification.enabled and verification.auto_enroll and mode in ("auto", "decoy"):
            return Policy(offer=("code",), mandatory=("code",))
        sequence = ("questions", "code") if verification.enabled else ("questions",)
        return Policy(offer=sequence, mandatory=sequence)
    own = settings.site(site)
    weights = {**settings.weights, **(own.weights or {})}
    offer = tuple(
        kind for kind in KINDS if weights.get(kind, 0) > 0 and _usable(config, site, kind)
    )
    return Policy(
        offer=offer,
        mandatory=tuple(own.mandatory if own.mandatory is not None else settings.mandatory),
        threshold=own.threshold or settings.threshold,
        weights=weights,
    )


def for_user(config: Config, site: str, mode: str, directory: Directory,
             user: DirectoryUser | None) -> Policy:  # fmt: skip
    """The policy of `user` (read once a factor is proven): the site's, replaced by the
    first `[[factors.policy]]` naming one of their groups or OUs, made stricter for admin
    groups (two different kinds, questions not counted)."""
    base = site_policy(config, site, mode)
    settings = config.factors
    if settings is None or user is None:
        return base
    for group in settings.policy:
        if _applies(directory, user, group.groups, group.ous):
            base = replace(
                base,
                mandatory=tuple(group.mandatory) if group.mandatory is not None else base.mandatory,
                threshold=group.threshold or base.threshold,
                weights={**base.weights, **(group.weights or {})},
            )
            break
    if settings.admin_groups and directory.is_member(user, settings.admin_groups):
        base = replace(
            base,
            weights={**base.weights, "questions": 0},
            mandatory=tuple(kind for kind in base.mandatory if kind != "questions"),
            kinds=max(base.kinds, ADMIN_KINDS),
        )
    return base


def with_conditions(policy: Policy, settings: FactorSettings | None, address: str,
                    now: float) -> Policy:  # fmt: skip
    """`policy` with the threshold the conditions that hold now raise it to."""
    if settings is None:
        return policy
    raised = [c.threshold for c in settings.conditions if c.threshold and holds(c, address, now)]
    return replace(policy, threshold=max([policy.threshold, *raised]))


def blocked(settings: FactorSettings | None, address: str, now: float) -> bool:
    """Whether a blocking condition holds for a request from `address` at `now`."""
    return settings is not None and any(
        c.block and holds(c, address, now) for c in settings.conditions
    )


def holds(condition: Condition, address: str, now: float) -> bool:
    """Whether every criterion `condition` gives holds (an unknown address is in no range)."""
    if condition.addresses:
        inside = _inside(address, condition.addresses)
        if inside == condition.outside:
            return False
    if condition.hours or condition.days:
        local = datetime.fromtimestamp(now, ZoneInfo(condition.timezone))
        if condition.days and DAYS[local.weekday()] not in condition.days:
            return False
        if condition.hours and not _within_hours(condition.hours, local.hour * 60 + local.minute):
            return False
    return True


def questions_on(config: Config, site: str) -> bool:
    """Whether `site` offers security questions at all."""
    return config.factors is None or config.factors.questions_on(site)


def _usable(config: Config, site: str, kind: str) -> bool:
    if kind not in FACTORS:
        return False
    if kind == "questions":
        return questions_on(config, site)
    if kind == "code":
        return config.verification.enabled
    if kind == "passkey":
        return config.relying_party(site) is not None  # a site passkeys can be bound to
    return True


def _applies(directory: Directory, user: DirectoryUser, groups: list[str], ous: list[str]) -> bool:
    dn = _normal(user.dn)
    if any(dn.endswith("," + _normal(ou)) for ou in ous):
        return True
    return bool(groups) and directory.is_member(user, groups)


def _normal(dn: str) -> str:
    return ",".join(part.strip() for part in dn.casefold().split(","))


def _inside(address: str, networks: list[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(net, strict=False) for net in networks)


def _within_hours(hours: str, minute: int) -> bool:
    start_text, _, end_text = hours.partition("-")
    start = int(start_text[:2]) * 60 + int(start_text[3:])
    end = int(end_text[:2]) * 60 + int(end_text[3:])
    if start <= end:
        return start <= minute < end
    return minute >= start or minute < end  # past midnight
