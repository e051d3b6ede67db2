"""Every factor by kind, and every enroll action by name ("totp.begin"): one list of factor
modules, each exposing `FACTOR` and, when it enrolls through `enroll.factor`,
`ENROLL_ACTIONS`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

from pwreset.server.flows.factors import (
    code_factor,
    passkeys,
    questions_factor,
    recovery_codes,
    totp,
)
from pwreset.server.flows.factors.base import KINDS, EnrollStep, Factor
from pwreset.server.storage import UserRecord

EnrollAction = Callable[[EnrollStep], Mapping[str, Any]]

# A factor module is listed here once; the kinds and actions below follow from it.
_MODULES: tuple[ModuleType, ...] = (
    questions_factor,
    code_factor,
    totp,
    recovery_codes,
    passkeys,
)

FACTORS: dict[str, Factor] = {module.FACTOR.kind: module.FACTOR for module in _MODULES}
ENROLL_ACTIONS: dict[str, EnrollAction] = {
    name: action
    for module in _MODULES
    for name, action in getattr(module, "ENROLL_ACTIONS", {}).items()
}

assert set(FACTORS) <= set(KINDS), "a factor's kind is missing from base.KINDS"


def refresh_kinds(record: UserRecord) -> None:
    """Bring `record.factors` (the clear list the console shows) in step with what its
    sealed enrollment holds: every factor calls this after changing its part."""
    record.factors = tuple(kind for kind in KINDS if kind in FACTORS and FACTORS[kind].has(record))
