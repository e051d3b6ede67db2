"""Sealing and opening the UDP datagrams between the relay and the server.

Datagram format, version 1 (all integers single bytes, no length fields: UDP frames it):

    header   magic   4  b"PWRS"
             version 1  0x01
             type    1  0x01 request, 0x02 reply
             key id  8  first 8 bytes of SHA-256(raw server public key)
    request: header | ephemeral X25519 public key (32) | nonce (12) | AES-256-GCM ct+tag (16)
             associated data = header | ephemeral public key
    reply:   header (type 0x02, the request's key id) | nonce (12) | AES-256-GCM ct+tag (16)
             associated data = header

Keys: shared = X25519(ephemeral private, server static public), then
HKDF-SHA256(ikm=shared, salt=relay key or none (RFC 5869's all-zero salt),
info=b"pwreset-wire" | version | ephemeral public | server public, length 64) gives
request key (first 32 bytes) | reply key (last 32). The relay forgets the ephemeral private
key after sealing, so recorded traffic stays unreadable to whoever later steals the relay.
The plaintexts are the JSON of pwreset.protocol.messages; nonces are random (each key
seals one message, a cached reply is resent byte for byte, never resealed).
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .errors import (
    BadSeal,
    MalformedDatagram,
    OversizedDatagram,
    ProtocolError,
    ReplayedRequest,
    StaleRequest,
    UnknownKeyId,
    UnsupportedVersion,
)
from .keys import KEY_ID_SIZE, Keyring, key_id
from .messages import Reply, Request, decode_reply, decode_request, encode_reply, encode_request

__all__ = [
    "MAX_DATAGRAM",
    "BadSeal",
    "MalformedDatagram",
    "OversizedDatagram",
    "ProtocolError",
    "ReplayedRequest",
    "ReplyKey",
    "StaleRequest",
    "UnknownKeyId",
    "UnsupportedVersion",
    "open_reply",
    "open_request",
    "seal_reply",
    "seal_request",
]

MAGIC = b"PWRS"
VERSION = 1
TYPE_REQUEST = 0x01
TYPE_REPLY = 0x02
MAX_DATAGRAM = 32768

_LABEL = b"pwreset-wire"
_HEADER_SIZE = len(MAGIC) + 1 + 1 + KEY_ID_SIZE
_PUBLIC_SIZE = 32
_NONCE_SIZE = 12
_TAG_SIZE = 16
_MIN_REQUEST = _HEADER_SIZE + _PUBLIC_SIZE + _NONCE_SIZE + _TAG_SIZE
_MIN_REPLY = _HEADER_SIZE + _NONCE_SIZE + _TAG_SIZE


class ReplyKey:
    """What one side needs to seal or open the reply to one request. Opaque on purpose."""

    __slots__ = ("_key", "key_id", "request_id")

    def __init__(self, key: bytes, key_id: bytes, request_id: bytes) -> None:
        self._key = key
        self.key_id = key_id
        self.request_id = request_id

    def __repr__(self) -> str:
        return f"ReplyKey(request_id={self.request_id.hex()}, key_id={self.key_id.hex()})"


def _header(kind: int, kid: bytes) -> bytes:
    return MAGIC + bytes((VERSION, kind)) + kid


def _derive(
    shared: bytes, ephemeral: bytes, server: bytes, relay_key: bytes | None
) -> tuple[bytes, bytes]:
    if relay_key is not None and not relay_key:
        # b"" would silently mean "no relay key": refuse rather than weaken the seal.
        raise ValueError("the relay key is empty")
    okm = HKDF(
        algorithm=hashes.SHA256(),
        length=64,
        salt=relay_key,
        info=_LABEL + bytes((VERSION,)) + ephemeral + server,
    ).derive(shared)
    return okm[:32], okm[32:]


def _check_header(datagram: bytes, kind: int, minimum: int, max_size: int) -> bytes:
    """Everything that can be refused without cryptography; returns the key id."""
    if len(datagram) > max_size:
        raise OversizedDatagram(f"datagram of {len(datagram)} bytes exceeds {max_size}")
    if len(datagram) < minimum:
        raise MalformedDatagram(f"datagram of {len(datagram)} bytes is too short")
    if datagram[:4] != MAGIC:
        raise MalformedDatagram("not a pwreset datagram (bad magic)")
    if datagram[4] != VERSION:
        raise UnsupportedVersion(f"protocol version {datagram[4]} (this side speaks {VERSION})")
    if datagram[5] != kind:
        raise MalformedDatagram(f"unexpected message type {datagram[5]}")
    return datagram[6:_HEADER_SIZE]


def seal_request(
    request: Request,
    server_key: X25519PublicKey,
    *,
    relay_key: bytes | None = None,
    max_size: int = MAX_DATAGRAM,
) -> tuple[bytes, ReplyKey]:
    """Seal `request` for the server; keep the ReplyKey to open its reply.

    Raises ValueError if the request breaks the schema, OversizedDatagram if too large.
    """
    return _seal_request_plaintext(
        encode_request(request), request.request_id, server_key, relay_key, max_size
    )


def _seal_request_plaintext(
    plaintext: bytes,
    request_id: bytes,
    server_key: X25519PublicKey,
    relay_key: bytes | None,
    max_size: int,
) -> tuple[bytes, ReplyKey]:
    """Seal any plaintext as a request; the fuzz tests seal what the encoder would refuse."""
    size = _MIN_REQUEST + len(plaintext)
    if size > max_size:
        raise OversizedDatagram(f"sealed request of {size} bytes exceeds {max_size}")
    ephemeral = X25519PrivateKey.generate()
    ephemeral_raw = ephemeral.public_key().public_bytes_raw()
    request_key, reply_key = _derive(
        ephemeral.exchange(server_key), ephemeral_raw, server_key.public_bytes_raw(), relay_key
    )
    kid = key_id(server_key)
    aad = _header(TYPE_REQUEST, kid) + ephemeral_raw
    nonce = os.urandom(_NONCE_SIZE)
    sealed = aad + nonce + AESGCM(request_key).encrypt(nonce, plaintext, aad)
    return sealed, ReplyKey(reply_key, kid, request_id)


def open_request(
    datagram: bytes,
    keyring: Keyring,
    *,
    relay_key: bytes | None = None,
    max_size: int = MAX_DATAGRAM,
) -> tuple[Request, ReplyKey]:
    """Authenticate and decode a request. Timestamps and replays are ReplayGuard's job."""
    kid = _check_header(datagram, TYPE_REQUEST, _MIN_REQUEST, max_size)
    private = keyring.get(kid)
    if private is None:
        raise UnknownKeyId(f"request sealed for unknown key id {kid.hex()}")
    aad_end = _HEADER_SIZE + _PUBLIC_SIZE
    ephemeral_raw = datagram[_HEADER_SIZE:aad_end]
    try:
        shared = private.exchange(X25519PublicKey.from_public_bytes(ephemeral_raw))
    except ValueError:
        # A low-order point gives an all-zero secret, which the library refuses.
        raise BadSeal("the ephemeral key is not usable") from None
    request_key, reply_key = _derive(
        shared, ephemeral_raw, private.public_key().public_bytes_raw(), relay_key
    )
    nonce = datagram[aad_end : aad_end + _NONCE_SIZE]
    try:
        plaintext = AESGCM(request_key).decrypt(
            nonce, datagram[aad_end + _NONCE_SIZE :], datagram[:aad_end]
        )
    except InvalidTag:
        raise BadSeal("the request's seal does not verify") from None
    request = decode_request(plaintext)
    return request, ReplyKey(reply_key, kid, request.request_id)


def seal_reply(reply: Reply, reply_key: ReplyKey, *, max_size: int = MAX_DATAGRAM) -> bytes:
    """Seal the server's reply. Raises ValueError if the reply breaks the schema or
    answers another request, OversizedDatagram if too large."""
    if reply.request_id != reply_key.request_id:
        raise ValueError("the reply answers a different request than the key was made for")
    return _seal_reply_plaintext(encode_reply(reply), reply_key, max_size)


def _seal_reply_plaintext(plaintext: bytes, reply_key: ReplyKey, max_size: int) -> bytes:
    """Seal any plaintext as a reply; the fuzz tests seal what the encoder would refuse."""
    size = _MIN_REPLY + len(plaintext)
    if size > max_size:
        raise OversizedDatagram(f"sealed reply of {size} bytes exceeds {max_size}")
    header = _header(TYPE_REPLY, reply_key.key_id)
    nonce = os.urandom(_NONCE_SIZE)
    return header + nonce + AESGCM(reply_key._key).encrypt(nonce, plaintext, header)


def open_reply(datagram: bytes, reply_key: ReplyKey, *, max_size: int = MAX_DATAGRAM) -> Reply:
    """Authenticate and decode the reply to the request `reply_key` belongs to."""
    kid = _check_header(datagram, TYPE_REPLY, _MIN_REPLY, max_size)
    if kid != reply_key.key_id:
        raise UnknownKeyId(f"reply names key id {kid.hex()}, the request used another")
    nonce = datagram[_HEADER_SIZE : _HEADER_SIZE + _NONCE_SIZE]
    try:
        plaintext = AESGCM(reply_key._key).decrypt(
            nonce, datagram[_HEADER_SIZE + _NONCE_SIZE :], datagram[:_HEADER_SIZE]
        )
    except InvalidTag:
        raise BadSeal("the reply's seal does not verify") from None
    reply = decode_reply(plaintext)
    if reply.request_id != reply_key.request_id:
        raise MalformedDatagram("the reply answers a different request")
    return reply
