"""Decoys: what unknown and unenrolled users are shown, so nobody learns who exists.

Choices are derived from the data key and the name typed, so the same name always gets the
same questions and destinations (asking twice must not reveal that the first set was made
up). Questions are positions in the configured lists, shown in the page's language as an
enrolled user's are; a code destination is built like a real one: the name at the
directory's mail domain, masked the same way.
"""

from __future__ import annotations

import hashlib
import hmac

from pwreset.config.flow_settings import VerificationSettings
from pwreset.server.notify import mask_email, mask_phone


class Decoys:
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
