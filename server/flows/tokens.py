"""Flow tokens: the state of one reset or unlock, sealed by the server and carried by the
page, so the relay stays stateless and any server sharing the database can continue it."""

from __future__ import annotations

import base64
import json
import os
from dataclasses import asdict, dataclass, replace
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class BadToken(Exception):  # noqa: N818 - a reason, not an error of the program
    """The token was not made by this server's key, or was altered."""


@dataclass(frozen=True)
class FlowState:
    kind: str  # "reset" | "unlock"
    site: str
    domain: str
    username: str  # as the directory spells it (or as typed, for decoys)
    mode: str  # "questions" | "auto" (code only) | "decoy"
    step: str  # "question" | "code" | "password"
    index: int  # the question being asked (0-based)
    total: int
    lang: str
    flow_id: str
    started: float
    touched: float  # last step; idle timeout counts from here

    def advance(self, now: float, **changes: Any) -> FlowState:
        return replace(self, touched=now, **changes)


class TokenSealer:
    def __init__(self, data_key: bytes) -> None:
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"pwreset flow token v1"
        ).derive(data_key)
        self._aead = AESGCM(key)

    def seal(self, state: FlowState) -> str:
        nonce = os.urandom(12)
        plain = json.dumps(asdict(state), separators=(",", ":")).encode()
        sealed = self._aead.encrypt(nonce, plain, state.site.encode())
        return base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")

    def open(self, token: str, site: str) -> FlowState:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            plain = self._aead.decrypt(raw[:12], raw[12:], site.encode())
            return FlowState(**json.loads(plain))
        except (InvalidTag, ValueError, TypeError, KeyError) as exc:
            raise BadToken from exc


def new_flow_id() -> str:
    return base64.urlsafe_b64encode(os.urandom(12)).decode()
