"""One password policy: the local rules and the directory's merged, checked and described.

The same rules serve three uses: the page shows and ticks them off (`describe`), the server
checks them before the directory sees a password (`check`), and `pwreset policy check` lets
an admin try them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from pwreset.config.password_settings import PasswordPolicySettings
from pwreset.server.passwords.breached_file import BreachedList
from pwreset.server.passwords.directory_rules import DirectoryRules
from pwreset.server.passwords.rules import (
    BREACHED,
    CHAR_CLASSES,
    CHARACTER_CLASSES,
    EVALUATORS,
    FORBIDDEN_WORDS,
    HISTORY,
    MIN_AGE,
    MIN_LENGTH,
    MIN_NAME_TOKEN,
    USER_NAMES,
    Origin,
    Rule,
    UserContext,
    name_tokens,
)

# The version of the shape `describe` returns; the page script checks it.
DESCRIPTION_VERSION = 1
# AD's complexity rule: three of the five character classes.
AD_COMPLEXITY_CLASSES = 3
NO_DIRECTORY_RULES = DirectoryRules()
# The code of a refusal whose rules are all the directory's: the one the directory's own
# refusal has, so the page says the same whoever refused first.
DIRECTORY_RULE_CODES = {
    MIN_LENGTH: "password_too_short",
    CHAR_CLASSES: "password_complexity",
    USER_NAMES: "password_complexity",
    MIN_AGE: "password_too_young",
}
NO_USER = UserContext()


@dataclass(frozen=True)
class PasswordPolicy:
    rules: tuple[Rule, ...]
    breached: BreachedList | None = None
    breached_min_count: int = 1

    @classmethod
    def build(
        cls,
        local: PasswordPolicySettings,
        directory: DirectoryRules = NO_DIRECTORY_RULES,
        breached: BreachedList | None = None,
    ) -> PasswordPolicy:
        """The merged policy: for a rule both sides set, the stricter value (the directory's
        on a tie, since it enforces it anyway)."""
        rules: list[Rule] = []
        if local.min_length or directory.min_length:
            origin: Origin = "local" if local.min_length > directory.min_length else "directory"
            n = max(local.min_length, directory.min_length)
            rules.append(Rule(MIN_LENGTH, {"n": n}, origin=origin))
        ad_classes = AD_COMPLEXITY_CLASSES if directory.complexity else 0
        if local.min_character_classes or ad_classes:
            origin = "local" if local.min_character_classes > ad_classes else "directory"
            n = max(local.min_character_classes, ad_classes)
            rules.append(
                Rule(CHAR_CLASSES, {"n": n, "classes": list(CHARACTER_CLASSES)}, origin=origin)
            )
        if local.forbid_user_names or directory.complexity:
            origin = "directory" if directory.complexity else "local"
            rules.append(Rule(USER_NAMES, {"min_token": MIN_NAME_TOKEN}, origin=origin))
        if local.forbidden_words:
            rules.append(Rule(FORBIDDEN_WORDS, {"words": list(local.forbidden_words)}))
        if breached is not None:
            rules.append(Rule(BREACHED, checked_by="server"))
        if directory.history:
            rules.append(Rule(HISTORY, {"n": directory.history}, "directory", origin="directory"))
        if directory.min_age_seconds:
            days = math.ceil(directory.min_age_seconds / 86400)
            params = {"days": days, "seconds": directory.min_age_seconds}
            rules.append(Rule(MIN_AGE, params, "server", origin="directory"))
        return cls(tuple(rules), breached, local.breached_min_count)

    def check(
        self, password: str, user: UserContext = NO_USER, *, directory_rules: bool = True
    ) -> list[Rule]:
        """The rules `password` breaks, in the policy's order; empty when it is accepted.

        The flows check every rule before the directory sees the password, the directory's
        own too (its length, AD's complexity), so that every refusal names its rule. History
        alone is left to the directory, which alone knows the old passwords. Without
        `directory_rules`, only the local rules and the breached list are checked (for a user
        under a policy of their own)."""
        broken = []
        for rule in self.rules:
            if rule.origin == "directory" and not directory_rules:
                continue
            if rule.id == BREACHED:
                assert self.breached is not None
                if self.breached.count(password) >= self.breached_min_count:
                    broken.append(rule)
            elif rule.id in EVALUATORS and not EVALUATORS[rule.id](password, rule.params, user):
                broken.append(rule)
        return broken

    def describe(self, user: UserContext | None = None) -> dict[str, Any]:
        """The policy as `meta` and the password step carry it to the page (JSON).

        Given the user (only after the user proved who they are), the names rule lists the
        tokens the page must look for; in `meta` the page checks the typed account name."""
        described = []
        for rule in self.rules:
            entry = rule.describe()
            if rule.id == USER_NAMES:
                entry["params"]["tokens"] = name_tokens(user) if user else []
            if rule.id == MIN_AGE:
                del entry["params"]["seconds"]  # the page has no password date to compare
            described.append(entry)
        return {"version": DESCRIPTION_VERSION, "rules": described}


def refusal_code(broken: list[Rule]) -> str:
    """The error code a refusal for the `broken` rules is answered with: password_rule when
    a local rule or the breached list is among them, else the directory's own code."""
    if all(rule.origin == "directory" for rule in broken):
        return DIRECTORY_RULE_CODES.get(broken[0].id, "password_rule")
    return "password_rule"
