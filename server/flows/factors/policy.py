"""How many factors of which kinds a reset or unlock needs: weights and a threshold, with
mandatory kinds, and the kinds a site offers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from pwreset.config import Config


@dataclass(frozen=True)
class Policy:
    offer: tuple[str, ...]  # the kinds offered, in the order they are offered
    mandatory: tuple[str, ...] = ()  # asked first, in this order, and all needed
    threshold: int = 0  # the weights of the kinds proven must add up to this
    weights: Mapping[str, int] = field(default_factory=dict)

    def met(self, proven: Iterable[str]) -> bool:
        done = set(proven)
        weight = sum(self.weights.get(kind, 0) for kind in done)
        return all(kind in done for kind in self.mandatory) and weight >= self.threshold


def site_policy(config: Config, site: str, mode: str) -> Policy:
    """The policy a flow on `site` starts with, before anything is proven (so the same for
    every user of the site, whoever they are): without `[factors]`, the questions and then
    a code when verification is on; a code alone where users may auto-enroll (`mode` "auto",
    and decoys, who must look like them)."""
    verification = config.verification
    if verification.enabled and verification.auto_enroll and mode in ("auto", "decoy"):
        return Policy(offer=("code",), mandatory=("code",))
    sequence = ("questions", "code") if verification.enabled else ("questions",)
    return Policy(offer=sequence, mandatory=sequence)
