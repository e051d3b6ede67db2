"""Decoys: what unknown and unenrolled users are shown, so nobody learns who exists.

Choices are derived from the data key and the name typed, so the same name always gets the
same questions (asking twice must not reveal that the first set was made up).
"""

from __future__ import annotations

import hashlib
import hmac

from pwreset.server.notify import mask_email


class Decoys:
    def __init__(self, data_key: bytes) -> None:
        self._key = hmac.new(data_key, b"pwreset decoys v1", hashlib.sha256).digest()

    def _stream(self, domain: str, username: str) -> bytes:
        name = f"{domain.casefold()}\x00{username.strip().casefold()}".encode()
        return hmac.new(self._key, name, hashlib.sha512).digest()

    def questions(self, domain: str, username: str, pool: list[str], count: int) -> list[str]:
        stream = self._stream(domain, username)
        chosen: list[str] = []
        remaining = list(pool)
        for byte in stream:
            if len(chosen) == count or not remaining:
                break
            chosen.append(remaining.pop(byte % len(remaining)))
        return chosen

    def destinations(self, domain: str, username: str) -> list[str]:
        stream = self._stream(domain, username).hex()
        return [mask_email(f"{stream[:6]}@{domain.casefold()}.example")]
