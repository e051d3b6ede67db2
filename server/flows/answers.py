"""Security answers: normalised, then kept only as salted Argon2id hashes.

Normalising (Unicode NFKC, case folded, letters and digits only) makes "O'Brien" match
"obrien", as users expect; the parameters are stored beside each hash so they can be raised
later without invalidating old enrollments.
"""

from __future__ import annotations

import base64
import hmac
import os
import unicodedata
from typing import Any

from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

# OWASP's minimum for Argon2id: 19 MiB, 2 passes, 1 lane (~50 ms here).
PARAMS = {"m": 19456, "t": 2, "p": 1}


def normalise(answer: str) -> str:
    folded = unicodedata.normalize("NFKC", answer).casefold()
    return "".join(c for c in folded if c.isalnum())


def significant_chars(answer: str) -> int:
    """How many letters and digits the answer has (what the minimum length counts)."""
    return len(normalise(answer))


def hash_secret(value: str, params: dict[str, int] | None = None) -> dict[str, Any]:
    p = params or PARAMS
    salt = os.urandom(16)
    digest = _derive(value, salt, p)
    return {"alg": "argon2id", **p, "salt": _b64(salt), "hash": _b64(digest)}


def verify_secret(value: str, stored: dict[str, Any]) -> bool:
    try:
        params = {"m": int(stored["m"]), "t": int(stored["t"]), "p": int(stored["p"])}
        salt = base64.b64decode(stored["salt"])
        expected = base64.b64decode(stored["hash"])
    except (KeyError, TypeError, ValueError):
        return False
    return hmac.compare_digest(_derive(value, salt, params), expected)


def burn_time_like_a_check() -> None:
    """The work of one verify, for decoy users: replies must not be faster for them."""
    _derive("decoy", b"\x00" * 16, PARAMS)


def hash_answer(answer: str) -> dict[str, Any]:
    return hash_secret(normalise(answer))


def verify_answer(answer: str, stored: dict[str, Any]) -> bool:
    return verify_secret(normalise(answer), stored)


def _derive(value: str, salt: bytes, params: dict[str, int]) -> bytes:
    kdf = Argon2id(
        salt=salt, length=32, iterations=params["t"], lanes=params["p"], memory_cost=params["m"]
    )
    return kdf.derive(value.encode("utf-8"))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
