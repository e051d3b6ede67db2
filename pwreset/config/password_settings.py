"""`[password_policy]`: the local password rules and the offline breached-password list.

The directory's own rules (AD's domain policy, OpenLDAP's ppolicy) always apply and are read
from the directory; these add to them, the stricter value winning. By default nothing is
added but what NIST SP 800-63B asks of every verifier: no password containing the user's
names, and (once a list is imported) none known from breaches.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

# Counts are stored in two bytes in the imported file (pwreset.server.passwords).
MAX_BREACHED_COUNT = 65535


class PasswordPolicySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # 0 = the directory's minimum only: a local minimum the directory does not share would
    # refuse here passwords Windows' own change dialog accepts.
    min_length: int = Field(default=0, ge=0, le=256)
    # How many of the classes lower, upper, digit, symbol and letter-without-case (CJK,
    # Arabic...) a password must mix; 0 = the directory's rule only (AD complexity: 3).
    min_character_classes: int = Field(default=0, ge=0, le=4)
    # Refuse passwords containing the account name or a display-name token of 3+ characters.
    forbid_user_names: bool = True
    # Words no password may contain, case-insensitively (the company's name, its products).
    forbidden_words: list[str] = Field(default=[], max_length=1000)
    # The file `pwreset policy import` wrote; unset = no breached-password check.
    breached_file: Path | None = None
    # Refuse a password seen in at least this many breaches.
    breached_min_count: int = Field(default=1, ge=1, le=MAX_BREACHED_COUNT)

    @field_validator("forbidden_words")
    @classmethod
    def _words(cls, words: list[str]) -> list[str]:
        cleaned = []
        for word in words:
            if not 3 <= len(word.strip()) <= 64:
                raise ValueError(f"{word!r}: a forbidden word has 3 to 64 characters")
            cleaned.append(word.strip().lower())
        return cleaned
