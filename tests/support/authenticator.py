"""A software WebAuthn authenticator for server-level tests: P-256 keys, attestation
"none", discoverable credentials, and a signature counter a test may wind back (a clone)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
from dataclasses import dataclass
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

_UP, _UV, _AT = 0x01, 0x04, 0x40


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


@dataclass
class SoftCredential:
    id: bytes
    key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    sign_count: int = 0

    def cose_public_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        x, y = numbers.x.to_bytes(32, "big"), numbers.y.to_bytes(32, "big")
        return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: x, -3: y})  # EC2, ES256, P-256


class SoftAuthenticator:
    """Creates and uses passkeys as a browser with a platform authenticator would, for one
    page `origin`; `verified` is the user-verification flag it reports."""

    def __init__(self, origin: str, *, verified: bool = True) -> None:
        self.origin = origin
        self.verified = verified
        self.credentials: list[SoftCredential] = []

    def _client_data(self, kind: str, challenge: str) -> bytes:
        data = {"type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": False}
        return json.dumps(data, separators=(",", ":")).encode()

    def _flags(self) -> int:
        return _UP | (_UV if self.verified else 0)

    def create(self, options: dict[str, Any]) -> dict[str, Any]:
        """navigator.credentials.create() with the server's creation options (JSON)."""
        rp_id = options["rp"]["id"]
        credential = SoftCredential(
            id=os.urandom(32),
            key=ec.generate_private_key(ec.SECP256R1()),
            rp_id=rp_id,
            user_handle=unb64(options["user"]["id"]),
        )
        self.credentials.append(credential)
        attested = (
            bytes(16) + struct.pack(">H", len(credential.id)) + credential.id
            + credential.cose_public_key()
        )  # fmt: skip
        auth_data = (
            hashlib.sha256(rp_id.encode()).digest()
            + bytes([self._flags() | _AT])
            + struct.pack(">I", credential.sign_count)
            + attested
        )
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        client_data = self._client_data("webauthn.create", options["challenge"])
        return {
            "id": b64(credential.id),
            "rawId": b64(credential.id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64(client_data),
                "attestationObject": b64(attestation),
                "transports": ["internal"],
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }

    def get(
        self, options: dict[str, Any], credential: SoftCredential | None = None
    ) -> dict[str, Any]:
        """navigator.credentials.get() with the server's request options (JSON): the first
        (or the given) discoverable credential for the options' RP ID signs."""
        rp_id = options["rpId"]
        chosen = credential or next(c for c in self.credentials if c.rp_id == rp_id)
        chosen.sign_count += 1
        auth_data = (
            hashlib.sha256(rp_id.encode()).digest()
            + bytes([self._flags()])
            + struct.pack(">I", chosen.sign_count)
        )
        client_data = self._client_data("webauthn.get", options["challenge"])
        signed = auth_data + hashlib.sha256(client_data).digest()
        signature = chosen.key.sign(signed, ec.ECDSA(hashes.SHA256()))
        return {
            "id": b64(chosen.id),
            "rawId": b64(chosen.id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64(client_data),
                "authenticatorData": b64(auth_data),
                "signature": b64(signature),
                "userHandle": b64(chosen.user_handle),
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }
