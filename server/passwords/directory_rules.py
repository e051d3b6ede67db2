"""The directory's own password rules, as values: AD's domain policy or OpenLDAP's ppolicy.

The adapters in `pwreset.server.directory` read them; this module only turns what they read
into one shape the policy merges with the local rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pwreset.server.directory.active_directory import AdPolicy

# The ppolicy attributes a password policy entry holds (draft-behera-ldap-password-policy).
PPOLICY_ATTRIBUTES = ("pwdMinLength", "pwdInHistory", "pwdMinAge", "pwdCheckQuality")


@dataclass(frozen=True)
class DirectoryRules:
    min_length: int = 0
    # AD's complexity: three of five character classes, and not the user's names.
    complexity: bool = False
    history: int = 0
    min_age_seconds: float = 0.0


def from_ad(policy: AdPolicy) -> DirectoryRules:
    return DirectoryRules(
        min_length=policy.min_length,
        complexity=policy.complexity,
        history=policy.history,
        min_age_seconds=policy.min_age_seconds,
    )


def from_ppolicy(
    pwd_min_length: int, pwd_in_history: int, pwd_min_age: int, pwd_check_quality: int
) -> DirectoryRules:
    """The rules of a ppolicy entry, from its attributes' values (the OpenLDAP adapter reads
    them: PPOLICY_ATTRIBUTES).

    slapd checks pwdMinLength only when pwdCheckQuality is 1 or 2, so with 0 (the default)
    the length is not a rule of the directory and is not shown as one.
    """
    return DirectoryRules(
        min_length=pwd_min_length if pwd_check_quality in (1, 2) else 0,
        history=pwd_in_history,
        min_age_seconds=float(pwd_min_age),
    )
