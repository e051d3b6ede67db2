"""Enrolled users: `UserRecord` and the store the flows read and write (the original's `Usr`).

A record is one document of the TinyDB table `users`, filed under its case-folded (domain,
username), so a lookup is one dict access. The enrollment, the verification-code state and
the prints of recent wrong answers are sealed together (see `record_cipher`) into one field;
everything else is in clear, which is what lets the Data Console list users without the
data key.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from pwreset.server.storage.errors import StoreKeyError
from pwreset.server.storage.record_cipher import RecordCipher, sealed_key_id
from pwreset.server.storage.tinydb_table import JournalDB

TABLE = "users"
# Per-user locks are striped: memory stays fixed however many names attackers try, and two
# unrelated users share a stripe (and wait for each other) only rarely.
_LOCK_STRIPES = 256
# Shown by the console; the sealed field never is.
CLEAR_FIELDS = (
    "domain",
    "username",
    "email",
    "phone",
    "copied_contacts",
    "language",
    "auto_enrolled",
    "wrong_answers",
    "locked_out",
    "last_failure",
    "last_enroll",
    "last_reset",
    "last_unlock",
    "last_change",
    "missing_since",
    "recoveries",
    "factors",
)


@dataclass
class UserRecord:
    """One enrolled (or auto-enrolled) user."""

    domain: str
    username: str
    email: str = ""
    # The mobile number copied from the directory at enrollment (`enroll.
    # contacts_from_directory`); empty when none was copied.
    phone: str = ""
    # Which contacts ("email", "phone") were copied from the directory at enrollment: codes
    # go to these copies, not to the directory's current values (server/flows/codes.py).
    copied_contacts: tuple[str, ...] = ()
    language: str = "en"
    enrollment: dict[str, Any] | None = None
    auto_enrolled: bool = False
    wrong_answers: int = 0
    locked_out: bool = False
    # When the last wrong answer was given: wrong answers and the lockout end
    # `security.lockout_minutes` later.
    last_failure: float | None = None
    code: dict[str, Any] | None = None
    last_enroll: float | None = None
    last_reset: float | None = None
    last_unlock: float | None = None
    last_change: float | None = None
    missing_since: float | None = None
    # When the recent successful resets and unlocks were made (newest last), for
    # `security.max_recoveries`.
    recoveries: tuple[float, ...] = ()
    # Keyed hashes of the different wrong answers counted toward the lockout (sealed): the
    # same wrong answer again is not counted twice (server/flows/lockout.py).
    wrong_answer_prints: list[str] = field(default_factory=list)
    # The kinds of recovery factor the user has ("questions", "code", "totp", ...), kept in
    # step with the sealed enrollment by server/flows/factors/registry.refresh_kinds.
    factors: tuple[str, ...] = ()

    def __repr__(self) -> str:
        # The enrollment and code hold hashes: keep them out of logs and tracebacks.
        shown = ", ".join(
            f"{f.name}={getattr(self, f.name)!r}"
            for f in fields(self)
            if f.name not in ("enrollment", "code", "wrong_answer_prints")
        )
        return f"UserRecord({shown}, enrolled={self.enrollment is not None})"


_DEFAULTS = {f.name: f.default for f in fields(UserRecord)}


def user_key(domain: str, username: str) -> str:
    return f"{domain.casefold()}\0{username.casefold()}"


def _aad(domain: str, username: str) -> bytes:
    return b"pwreset user record v1\0" + user_key(domain, username).encode("utf-8")


def encode_user(record: UserRecord, cipher: RecordCipher | None) -> dict[str, Any]:
    """The stored document of `record`: its clear fields, and its enrollment, code and
    wrong-answer prints sealed together under the data key (every store keeps users as these
    documents)."""
    # Defaults are left out: smaller documents, and the memory budget is per record.
    doc = {
        name: getattr(record, name)
        for name in CLEAR_FIELDS
        if getattr(record, name) != _DEFAULTS[name] or name in ("domain", "username")
    }
    if record.enrollment is not None or record.auto_enrolled:
        doc["factors"] = record.factors  # even none: told apart from a record made before
    if record.enrollment is not None or record.code is not None:
        if cipher is None:
            raise StoreKeyError("saving an enrollment or code needs the data key")
        sealed: dict[str, Any] = {"enrollment": record.enrollment, "code": record.code}
        if record.wrong_answer_prints:
            sealed["wrong"] = record.wrong_answer_prints
        secret = json.dumps(sealed)
        doc["sealed"] = cipher.seal(secret.encode("utf-8"), _aad(record.domain, record.username))
        doc["enrolled"] = record.enrollment is not None
    return doc


def decode_user(doc: Mapping[str, Any], cipher: RecordCipher | None) -> UserRecord:
    """The record a stored document holds; opening its sealed part needs the data key."""
    values = {name: doc.get(name, _DEFAULTS[name]) for name in CLEAR_FIELDS}
    values["domain"] = sys.intern(values["domain"])
    values["language"] = sys.intern(values["language"])
    values["recoveries"] = tuple(values["recoveries"])
    values["copied_contacts"] = tuple(values["copied_contacts"])
    values["factors"] = _factors(doc)
    record = UserRecord(**values)
    sealed = doc.get("sealed")
    if sealed is not None:
        if cipher is None:
            raise StoreKeyError("reading an enrollment or code needs the data key")
        secret = json.loads(cipher.open(sealed, _aad(record.domain, record.username)))
        record.enrollment = secret.get("enrollment")
        record.code = secret.get("code")
        record.wrong_answer_prints = list(secret.get("wrong") or ())
    return record


def _factors(doc: Mapping[str, Any]) -> tuple[str, ...]:
    """The document's factor kinds; a record saved before they were kept had questions (or,
    auto-enrolled, codes only)."""
    if "factors" in doc:
        return tuple(doc["factors"])
    if doc.get("auto_enrolled"):
        return ("code",)
    return ("questions", "code") if doc.get("enrolled") else ()


def user_row(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A stored document's clear fields plus `enrolled` and the sealing key id; no key."""
    row = {name: doc.get(name, _DEFAULTS[name]) for name in CLEAR_FIELDS}
    row["factors"] = _factors(doc)
    row["enrolled"] = bool(doc.get("enrolled", False))
    row["key_id"] = sealed_key_id(doc["sealed"]) if "sealed" in doc else ""
    return row


def sealed_by_another_key(doc: Mapping[str, Any] | None, cipher: RecordCipher | None) -> bool:
    """True if `doc` holds a sealed part that the current data key did not seal."""
    if doc is None or cipher is None:
        return False
    sealed = doc.get("sealed")
    return sealed is not None and sealed_key_id(sealed) != cipher.key_id


class UserStore:
    """Users by (domain, username), case-insensitive. Thread-safe; `save` is durable."""

    def __init__(self, db: JournalDB, cipher: RecordCipher | None) -> None:
        # No query cache: lookups go by key, and the console's scans are one-off.
        self._table = db.table(TABLE, cache_size=0)
        self._cipher = cipher
        self._stripes = [threading.RLock() for _ in range(_LOCK_STRIPES)]

    @contextlib.contextmanager
    def locked(self, domain: str, username: str) -> Iterator[None]:
        """Hold while reading, deciding on and saving one user's record, so concurrent
        requests for that user (parallel wrong answers, parallel code requests) are applied
        one after the other and none is lost. Re-entrant within a thread."""
        key = user_key(domain, username).encode("utf-8")
        with self._stripes[zlib.crc32(key) % _LOCK_STRIPES]:
            yield

    def get(self, domain: str, username: str) -> UserRecord | None:
        doc = self._table.document(user_key(domain, username))
        return None if doc is None else decode_user(doc, self._cipher)

    def save(self, record: UserRecord) -> None:
        self._table.replace(
            user_key(record.domain, record.username), encode_user(record, self._cipher)
        )

    def delete(self, domain: str, username: str) -> bool:
        return bool(self._table.remove_keys([user_key(domain, username)]))

    def __len__(self) -> int:
        return len(self._table)

    def __iter__(self) -> Iterator[UserRecord]:
        for doc in self._table:
            yield decode_user(doc, self._cipher)

    def rows(self) -> Iterator[dict[str, Any]]:
        """Every user's clear fields plus `enrolled` and the sealing key id; needs no key."""
        for doc in self._table:
            yield user_row(doc)

    def reseal(self, record: UserRecord) -> bool:
        """Save `record` again if the current data key did not seal it (key rotation)."""
        doc = self._table.document(user_key(record.domain, record.username))
        if not sealed_by_another_key(doc, self._cipher):
            return False
        self.save(record)
        return True
