"""Encryption at rest of the secret part of a user record (enrollment, code state).

AES-256-GCM under a key derived from the server's data key; the record's identity
(domain and user) is the associated data, so a sealed blob copied onto another user's
record does not open. Each blob names the key id that sealed it, so a key rotation can
re-encrypt record by record while the old key still opens what is not yet done.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from pwreset.server.storage.errors import StoreKeyError

_NONCE = 12


def data_key_id(data_key: bytes) -> str:
    """A public name for a data key (16 hex digits): it says which key, never the key."""
    return hashlib.sha256(b"pwreset data key id v1\0" + data_key).hexdigest()[:16]


def _record_key(data_key: bytes) -> AESGCM:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"pwreset record key v1")
    return AESGCM(hkdf.derive(data_key))


class RecordCipher:
    """Seals with the current key; opens with the current or any previous key."""

    def __init__(self, data_key: bytes, previous_keys: Sequence[bytes] = ()) -> None:
        self.key_id = data_key_id(data_key)
        self._keys = {self.key_id: _record_key(data_key)}
        for old in previous_keys:
            self._keys.setdefault(data_key_id(old), _record_key(old))

    def seal(self, plaintext: bytes, aad: bytes) -> str:
        nonce = os.urandom(_NONCE)
        sealed = self._keys[self.key_id].encrypt(nonce, plaintext, aad)
        return f"{self.key_id}.{base64.b64encode(nonce + sealed).decode('ascii')}"

    def open(self, token: str, aad: bytes) -> bytes:
        kid, _, body = token.partition(".")
        key = self._keys.get(kid)
        if key is None:
            raise StoreKeyError(
                f"a record is sealed with data key {kid}, which is not the configured data key "
                f"({self.key_id}); was the key file replaced or a rotation left unfinished?"
            )
        try:
            raw = base64.b64decode(body, validate=True)
            return key.decrypt(raw[:_NONCE], raw[_NONCE:], aad)
        except (InvalidTag, binascii.Error, ValueError):
            raise StoreKeyError(
                f"a record sealed with data key {kid} does not open (damaged, or moved "
                "from another user's record)"
            ) from None

    def __repr__(self) -> str:
        return f"RecordCipher(key_id={self.key_id!r}, keys={len(self._keys)})"


def sealed_key_id(token: str) -> str:
    return token.partition(".")[0]
