"""Flow and enroll tokens: the state of one reset or unlock, and the proof that an enroll
session's password was checked, sealed by the server and carried by the page, so the relay
stays stateless and any server sharing the database can continue it."""

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

# How long an enroll session lasts after its password was proven.
ENROLL_SESSION_SECONDS = 600.0


class BadToken(Exception):  # noqa: N818 - a reason, not an error of the program
    """The token was not made by this server's key, or was altered."""


@dataclass(frozen=True)
class FlowState:
    kind: str  # "reset" | "unlock"
    site: str
    domain: str
    username: str  # as the directory spells it (or as typed, for decoys)
    mode: str  # "enrolled" | "auto" (code only) | "decoy"
    step: str  # "choose" | "factor" | "password"
    index: int  # the factor's step (the question being asked, 0-based)
    total: int
    lang: str
    flow_id: str
    started: float
    touched: float  # last step; idle timeout counts from here
    factor: str = ""  # the kind being asked (step "factor")
    proven: tuple[str, ...] = ()  # the kinds proven so far, in order
    offer: tuple[str, ...] = ()  # the kinds the site's policy offers (the same for everyone)

    def advance(self, now: float, **changes: Any) -> FlowState:
        return replace(self, touched=now, **changes)


@dataclass(frozen=True)
class EnrollSession:
    """An `enroll.start` whose password was proven: who, where, and since when."""

    site: str
    domain: str
    username: str  # as the directory spells it
    lang: str
    started: float


class Sealer:
    """Fields sealed into a token the page (or the console) carries: AES-GCM under a key of
    its own (HKDF of `key` with `info`), bound to what it is for (`bound`: the site, the
    account). Flow tokens, enroll sessions, pending authenticator keys and help desk cases."""

    def __init__(self, key: bytes, info: bytes) -> None:
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(key)
        self._aead = AESGCM(derived)

    def seal(self, fields: dict[str, Any], bound: str) -> str:
        nonce = os.urandom(12)
        plain = json.dumps(fields, separators=(",", ":")).encode()
        sealed = self._aead.encrypt(nonce, plain, bound.encode())
        return base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")

    def open(self, token: str, bound: str) -> dict[str, Any]:
        """The fields `token` holds; BadToken if this sealer did not seal it for `bound`."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            fields = json.loads(self._aead.decrypt(raw[:12], raw[12:], bound.encode()))
        except (InvalidTag, ValueError, TypeError) as exc:
            raise BadToken from exc
        if not isinstance(fields, dict):
            raise BadToken
        return fields


class TokenSealer:
    def __init__(self, data_key: bytes) -> None:
        self._flows = Sealer(data_key, b"pwreset flow token v1")
        self._enroll = Sealer(data_key, b"pwreset enroll session v1")

    def seal(self, state: FlowState) -> str:
        return self._flows.seal(asdict(state), state.site)

    def open(self, token: str, site: str) -> FlowState:
        fields = self._flows.open(token, site)
        try:
            state = FlowState(**fields)
            return replace(state, proven=tuple(state.proven), offer=tuple(state.offer))
        except TypeError as exc:
            raise BadToken from exc

    def seal_enroll(self, session: EnrollSession) -> str:
        return self._enroll.seal(asdict(session), session.site)

    def open_enroll(self, token: str, site: str, now: float) -> EnrollSession:
        """The session `token` carries, if it is this site's and not past its time."""
        try:
            session = EnrollSession(**self._enroll.open(token, site))
        except TypeError as exc:
            raise BadToken from exc
        if not 0 <= now - session.started <= ENROLL_SESSION_SECONDS:
            raise BadToken
        return session


def new_flow_id() -> str:
    return base64.urlsafe_b64encode(os.urandom(12)).decode()
