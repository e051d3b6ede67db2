"""One password rule: its stable id, parameters and page message, and how it is evaluated.

The page ticks the same rules off as the user types, so every rule the page checks is
defined here by plain data (Unicode general categories, lower-cased substrings, code-point
counts) that `policy_check.js` evaluates in the same way; tests compare the two.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

# Where a rule is enforced: "page" rules are evaluated by the page and again by the server,
# "server" rules only by the server (they need data the page must not have), "directory"
# rules are shown to the user and enforced by the directory when the password is set.
CheckedBy = Literal["page", "server", "directory"]
Origin = Literal["local", "directory"]

MIN_LENGTH = "min_length"
CHAR_CLASSES = "char_classes"
USER_NAMES = "user_names"
FORBIDDEN_WORDS = "forbidden_words"
BREACHED = "breached"
HISTORY = "history"
MIN_AGE = "min_age"

# The page message of each rule; its placeholders are the rule's parameters ({n}, {days}).
MESSAGES: dict[str, str] = {
    MIN_LENGTH: "RES_RULE_MIN_LENGTH",
    CHAR_CLASSES: "RES_RULE_CHAR_CLASSES",
    USER_NAMES: "RES_RULE_USER_NAMES",
    FORBIDDEN_WORDS: "RES_RULE_FORBIDDEN_WORDS",
    BREACHED: "RES_RULE_BREACHED",
    HISTORY: "RES_RULE_HISTORY",
    MIN_AGE: "RES_RULE_MIN_AGE",
}

# AD's complexity rule counts five classes; the fifth is letters without case (CJK, Arabic).
CHARACTER_CLASSES = ("lower", "upper", "digit", "symbol", "letter")

# AD splits the display name into tokens at these characters and ignores tokens shorter
# than three characters; the account name counts whole.
NAME_DELIMITERS = re.compile(r"[,.\-_ #\t]+")
MIN_NAME_TOKEN = 3


@dataclass(frozen=True)
class UserContext:
    """What the server knows about the user whose password is checked."""

    username: str = ""
    display_name: str = ""
    # When the current password was set (Unix time) and now: the minimum-age rule applies
    # only where the flow passes them (a user's own change, not a help-desk style reset).
    password_set_at: float | None = None
    now: float | None = None


@dataclass(frozen=True)
class Rule:
    id: str
    params: Mapping[str, Any] = field(default_factory=dict)
    checked_by: CheckedBy = "page"
    origin: Origin = "local"

    @property
    def message(self) -> str:
        return MESSAGES[self.id]

    def describe(self) -> dict[str, Any]:
        """The rule as the page receives it (JSON)."""
        return {
            "id": self.id,
            "message": self.message,
            "params": dict(self.params),
            "checked_by": self.checked_by,
        }


def character_class(char: str) -> str:
    """The class of one code point, by Unicode general category (JS: \\p{Ll}, \\p{Lu}...)."""
    category = unicodedata.category(char)
    if category == "Ll":
        return "lower"
    if category == "Lu":
        return "upper"
    if category == "Nd":
        return "digit"
    if category.startswith("L"):
        return "letter"
    return "symbol"


def name_tokens(user: UserContext) -> list[str]:
    """The lower-cased names a password must not contain: the account name whole and the
    display name's tokens, each of at least MIN_NAME_TOKEN characters."""
    tokens = [user.username.lower()] if len(user.username) >= MIN_NAME_TOKEN else []
    for token in NAME_DELIMITERS.split(user.display_name.lower()):
        if len(token) >= MIN_NAME_TOKEN and token not in tokens:
            tokens.append(token)
    return tokens


def _min_length(password: str, params: Mapping[str, Any], user: UserContext) -> bool:
    return len(password) >= int(params["n"])


def _char_classes(password: str, params: Mapping[str, Any], user: UserContext) -> bool:
    return len({character_class(c) for c in password}) >= int(params["n"])


def _user_names(password: str, params: Mapping[str, Any], user: UserContext) -> bool:
    lowered = password.lower()
    tokens = [*params.get("tokens", []), *name_tokens(user)]
    return not any(token in lowered for token in tokens)


def _forbidden_words(password: str, params: Mapping[str, Any], user: UserContext) -> bool:
    lowered = password.lower()
    return not any(word in lowered for word in params["words"])


def _min_age(password: str, params: Mapping[str, Any], user: UserContext) -> bool:
    if user.password_set_at is None or user.now is None:
        return True
    return user.now - user.password_set_at >= float(params["seconds"])


# The rules evaluated from the password and the user alone (breached needs the list,
# history only the directory can check).
EVALUATORS: dict[str, Callable[[str, Mapping[str, Any], UserContext], bool]] = {
    MIN_LENGTH: _min_length,
    CHAR_CLASSES: _char_classes,
    USER_NAMES: _user_names,
    FORBIDDEN_WORDS: _forbidden_words,
    MIN_AGE: _min_age,
}
