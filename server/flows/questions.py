"""Security questions: which configured question an enrollment holds and its text in the
page's language, the answers kept only as salted Argon2id hashes, and the questions and code
destinations decoys are shown.

An enrollment keeps each question's text as chosen and its position (`id`) in the configured
lists, which are parallel across languages. Shown, it is found again by text (so a reordered
list still works), else by position (so a reworded question still works), and given in the
language of the request, as decoy questions are. A question typed by the user (custom
questions) is in no list and is shown as typed.

Answers are normalised (Unicode NFKC, case folded, letters and digits only), so "O'Brien"
matches "obrien", as users expect; the hash parameters are stored beside each hash so they
can be raised later without invalidating old enrollments.

Decoys (unknown and unenrolled names) are shown choices derived from the data key and the name
typed, so the same name always gets the same questions and destinations (asking twice must not
reveal that the first set was made up). Their questions are positions in the configured lists,
shown in the page's language as an enrolled user's are; a code destination is built like a
real one: the name at the directory's mail domain, masked the same way.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import unicodedata
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from pwreset.config.flow_settings import EnrollSettings, VerificationSettings
from pwreset.server.notify import mask_email, mask_phone


def pool(settings: EnrollSettings, lang: str) -> list[str]:
    """The questions offered in `lang` (English when there is no list for it)."""
    return settings.question_list.get(lang) or settings.question_list["en"]


def question_id(settings: EnrollSettings, text: str, lang: str) -> int | None:
    """The position of `text` in the lists (the `lang` list first), or None if typed."""
    lists = [settings.question_list.get(lang) or [], *settings.question_list.values()]
    for questions in lists:
        if text in questions:
            return questions.index(text)
    return None


def prompt_at(settings: EnrollSettings, index: int, lang: str) -> str | None:
    for questions in (pool(settings, lang), settings.question_list["en"]):
        if 0 <= index < len(questions):
            return questions[index]
    return None


def prompt(settings: EnrollSettings, entry: Mapping[str, Any], lang: str) -> str:
    """The text to show for one enrolled question (`{"q", "id"?, "h"}`) in `lang`."""
    text = str(entry.get("q", ""))
    index = question_id(settings, text, lang)
    if index is None and isinstance(entry.get("id"), int):
        index = entry["id"]
    shown = prompt_at(settings, index, lang) if index is not None else None
    return shown or text


# --- answers ----------------------------------------------------------------------------------

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


# --- decoys -----------------------------------------------------------------------------------


class Decoys:
    """The questions and code destinations shown for names without an enrollment."""

    def __init__(self, data_key: bytes) -> None:
        self._key = hmac.new(data_key, b"pwreset decoys v1", hashlib.sha256).digest()

    def _stream(self, domain: str, username: str) -> bytes:
        name = f"{domain.casefold()}\x00{username.strip().casefold()}".encode()
        return hmac.new(self._key, name, hashlib.sha512).digest()

    def question_ids(self, domain: str, username: str, size: int, count: int) -> list[int]:
        """`count` distinct positions in a question list of `size`."""
        stream = self._stream(domain, username)
        chosen: list[int] = []
        remaining = list(range(size))
        for byte in stream:
            if len(chosen) == count or not remaining:
                break
            chosen.append(remaining.pop(byte % len(remaining)))
        return chosen

    def destinations(
        self, domain: str, username: str, mail_domain: str, settings: VerificationSettings
    ) -> list[str]:
        """Where a code would have gone, shown as a real user's destinations are."""
        shown: list[str] = []
        mask = settings.mask_destinations
        if settings.email:
            address = f"{_local_part(username) or 'user'}@{mail_domain}"
            shown.append(mask_email(address) if mask else address)
        if settings.sms:
            digits = "".join(str(b % 10) for b in self._stream(domain, username)[-7:])
            phone = f"+1555{digits}"
            shown.append(mask_phone(phone) if mask else phone)
        return shown


def _local_part(name: str) -> str:
    """ "LAB\\bob" and "bob@elsewhere" as the name of a mailbox: "bob"."""
    name = name.strip().rpartition("\\")[2]
    return name.partition("@")[0].casefold()
