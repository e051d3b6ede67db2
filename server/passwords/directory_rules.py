"""The directory's own password rules, as values: AD's domain policy or OpenLDAP's ppolicy.

The adapters in `pwreset.server.directory` read them into this one shape (AD's domain
policy: `active_directory.read_domain_policy`), which the policy merges with the local
rules.
"""

from __future__ import annotations

from dataclasses import dataclass

# The ppolicy attributes a password policy entry holds (draft-behera-ldap-password-policy).
PPOLICY_ATTRIBUTES = ("pwdMinLength", "pwdInHistory", "pwdMinAge", "pwdCheckQuality")


@dataclass(frozen=True)
class DirectoryRules:
    min_length: int = 0
    # AD's complexity: three of five character classes, and not the user's names.
    complexity: bool = False
    history: int = 0
    min_age_seconds: float = 0.0


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
