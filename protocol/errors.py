"""The exception family of the wire protocol: why a datagram or a key file was refused."""

# ruff: noqa: N818  (the names say what was refused; "Error" would add nothing)

from __future__ import annotations


class ProtocolError(Exception):
    """A datagram was refused. `reason` is a stable short word for logs and counters.

    Messages name what was wrong with the datagram, never key material or plaintext.
    """

    reason: str = "malformed"


class MalformedDatagram(ProtocolError):
    """Wrong magic, wrong message type, truncated, or a plaintext that breaks the schema."""

    reason = "malformed"


class OversizedDatagram(ProtocolError):
    """Larger than the size limit; refused before any cryptography runs."""

    reason = "oversized"


class UnsupportedVersion(ProtocolError):
    """A protocol version this code does not speak."""

    reason = "unsupported_version"


class UnknownKeyId(ProtocolError):
    """Sealed for a server key this side does not hold (or a reply for another key)."""

    reason = "unknown_key"


class BadSeal(ProtocolError):
    """The GCM tag did not verify: tampered, wrong server key, or wrong relay key."""

    reason = "bad_seal"


class StaleRequest(ProtocolError):
    """The request's timestamp is outside the server's window."""

    reason = "stale"


class ReplayedRequest(ProtocolError):
    """The request id was already accepted inside the window."""

    reason = "replayed"


class MisdirectedRetry(ProtocolError):
    """A retry of a request from another address than the request came from: never
    answered, or the reply cache would reflect replies to any address a forger names."""

    reason = "misdirected_retry"


class Overloaded(ProtocolError):
    """More requests are being handled than the server holds at once: dropped unanswered,
    so the relay retries (and its user waits) instead of the server queueing without end."""

    reason = "overloaded"


class KeyFileError(ValueError):
    """A key file is missing, unreadable or does not hold the expected kind of key.

    The message names the file and the reason, never the file's content.
    """
