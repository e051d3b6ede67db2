"""Records the storage tests share."""

from __future__ import annotations

from pwreset.server.storage import UserRecord

KEY = b"\x01" * 32
SECRET_HASH = "scrypt$c2FsdA$this-is-the-answer-hash"


def enrolled(name: str, domain: str = "LAB") -> UserRecord:
    return UserRecord(
        domain,
        name,
        email=f"{name}@example.org",
        enrollment={"questions": ["pet?"], "answers": [SECRET_HASH]},
        code={"hash": "code-hash-123", "issued_at": 1.0},
        last_enroll=1_700_000_000.0,
    )
