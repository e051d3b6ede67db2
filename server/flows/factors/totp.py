"""Authenticator apps (TOTP, RFC 6238) as a recovery factor.

Enroll: `totp.begin` makes a 160-bit secret; the page shows it once (a QR code of its
otpauth:// URI, drawn by the page from the module grid sent here, and the secret to type) and
sends it back sealed (`pending`, bound to the account, 10 minutes) with a current code to
`totp.confirm`, which makes it the user's authenticator, in the sealed enrollment. Nothing is
stored before: a secret never confirmed leaves no trace. `totp.remove` takes it away.

Reset and unlock: a code of the current 30-second step, or of `[totp] drift` steps around it,
is accepted once: the step of the last accepted code is stored and no step up to it is
accepted again (under the user's lock, so two parallel submissions of one code get one
success). A wrong code counts toward the lockout as a wrong answer does. Names without an
authenticator (unknown, unenrolled, or enrolled without one) are checked against a secret
nobody has, with the same work, and always refused the same way (counted toward the user's
lockout, or a decoy's).

The secret never leaves the sealed record except in `totp.begin`'s reply.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import segno
from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor import InvalidToken
from cryptography.hazmat.primitives.twofactor.totp import TOTP

from pwreset.server.flows import lockout
from pwreset.server.flows.errors import FlowError
from pwreset.server.flows.factors.base import EnrollStep
from pwreset.server.flows.fields import text
from pwreset.server.flows.tokens import BadToken, Sealer
from pwreset.server.storage import UserRecord
from pwreset.server.storage.users import user_key

if TYPE_CHECKING:
    from pwreset.server.flows.recovery import Recovery

KIND = "totp"
PERIOD = 30  # seconds per code: what every authenticator app uses
DIGITS = 6
SECRET_BYTES = 20  # 160 bits, RFC 4226's recommended length (SHA-1's output)
# How long a secret shown by totp.begin waits for its confirming code (the enroll session's
# length).
PENDING_SECONDS = 600.0

WRONG = "wrong authenticator app code"
REPLAYED = "authenticator app code already used"
NONE_ENROLLED = "authenticator app code given, but no app enrolled"
ACCEPTED = "authenticator app code accepted"
ENROLLED = "authenticator app enrolled"
REMOVED = "authenticator app removed"


def new_secret() -> str:
    """A fresh secret in base32 (as apps and the otpauth URI spell it), from os.urandom."""
    return base64.b32encode(os.urandom(SECRET_BYTES)).decode("ascii")


def _totp(secret: str) -> TOTP:
    # SHA-1: what authenticator apps compute (RFC 6238's default), safe as an HMAC.
    return TOTP(base64.b32decode(secret), DIGITS, SHA1(), PERIOD)  # noqa: S303


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    """The otpauth:// URI an app reads from the QR code."""
    return _totp(secret).get_provisioning_uri(account, issuer)


def qr_rows(uri: str) -> list[str]:
    """The QR code of `uri` as rows of "1" (dark) and "0" (light) modules, without the quiet
    zone: the page draws it (an SVG it builds itself, so no markup from here is inserted)."""
    code = segno.make_qr(uri, error="m")
    return ["".join("1" if dark else "0" for dark in row) for row in code.matrix]


def code_of(typed: str) -> bytes:
    """The code as typed, spaces taken out ("123 456" as apps show it); anything but six
    ASCII digits is a code that matches no step."""
    code = "".join(typed.split())
    return code.encode("ascii") if code.isascii() and code.isdigit() else b"-"


def matching_step(secret: str, typed: str, now: float, drift: int) -> int | None:
    """The latest time step within `drift` steps of `now` whose code is `typed`, or None.
    Every step of the window is checked, whatever matches: the same work for every try."""
    totp, code = _totp(secret), code_of(typed)
    current = int(now // PERIOD)
    found: int | None = None
    for step in range(current - drift, current + drift + 1):
        try:
            totp.verify(code, step * PERIOD)
        except InvalidToken:
            continue
        found = step
    return found


# A secret nobody has: what decoys are checked against.
_DECOY_SECRET = new_secret()


def entry(record: UserRecord | None) -> dict[str, Any] | None:
    """The user's authenticator (`{"secret", "last_step", "added"}`), if enrolled."""
    found = (record.enrollment or {}).get(KIND) if record is not None else None
    return found if isinstance(found, dict) and found.get("secret") else None


class TotpFactor:
    """The reset and unlock step: `{"kind": "totp"}`, answered with `{"code"}`."""

    kind: ClassVar[str] = KIND

    def has(self, record: UserRecord) -> bool:
        return entry(record) is not None

    def ask(self, recovery: Recovery, record: UserRecord | None) -> Mapping[str, Any]:
        return {"kind": KIND}

    def check(self, recovery: Recovery, record: UserRecord | None) -> Mapping[str, Any] | None:
        typed = text(recovery.request.body, "code")
        drift = recovery.ctx.config.totp.drift
        if record is None:
            recovery.decoy_check(counted=True)
            matching_step(_DECOY_SECRET, typed, recovery.now, drift)
            recovery.decoy_failure(WRONG)
            raise FlowError("wrong_code")
        lockout.check(lockout.of_record(record), recovery.ctx.config.security, recovery.now)
        held = entry(record)
        if held is None:
            # Counted as the user's wrong code: their lockout, not a decoy's, is what the
            # next start looks at.
            matching_step(_DECOY_SECRET, typed, recovery.now, drift)
            recovery.count_failure(record, NONE_ENROLLED)
            raise FlowError("wrong_code")
        step = matching_step(held["secret"], typed, recovery.now, drift)
        if step is None or step <= int(held.get("last_step", -1)):
            recovery.count_failure(record, WRONG if step is None else REPLAYED)
            raise FlowError("wrong_code")
        held["last_step"] = step
        recovery.ctx.db.users.save(record)
        recovery.succeeded(ACCEPTED)
        return None


# --- enroll -----------------------------------------------------------------------------------


class PendingSecret:
    """A secret shown by `totp.begin`, sealed for the page to send back with its confirming
    code (nothing is stored until it is confirmed): bound to the account, for
    PENDING_SECONDS."""

    def __init__(self, factor_key: bytes) -> None:
        self._sealer = Sealer(factor_key, b"pwreset totp pending v1")

    def seal(self, domain: str, username: str, secret: str, now: float) -> str:
        return self._sealer.seal({"s": secret, "t": now}, user_key(domain, username))

    def open(self, domain: str, username: str, token: str, now: float) -> str | None:
        """The secret, or None when the token is not one of ours for this account, or old."""
        try:
            held = self._sealer.open(token, user_key(domain, username))
            secret, made = str(held["s"]), float(held["t"])
        except (BadToken, ValueError, TypeError, KeyError):
            return None
        return secret if 0 <= now - made <= PENDING_SECONDS else None


def confirm(record: UserRecord, secret: str, typed: str, now: float, drift: int) -> bool:
    """Make `secret` the user's authenticator (replacing one held before) if `typed` is one
    of its codes; the code's step is used up, so it cannot then prove a reset as well."""
    step = matching_step(secret, typed, now, drift)
    if step is None:
        return False
    enrollment: dict[str, Any] = record.enrollment if record.enrollment is not None else {"v": 1}
    enrollment[KIND] = {"secret": secret, "last_step": step, "added": now}
    record.enrollment = enrollment
    return True


def begin_reply(secret: str, account: str, issuer: str) -> dict[str, Any]:
    """What the page shows to enroll: the QR code's modules, the URI and the secret to type
    (grouped by four, as apps accept it)."""
    uri = provisioning_uri(secret, account, issuer)
    grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    return {"secret": grouped, "uri": uri, "qr": qr_rows(uri), "period": PERIOD, "digits": DIGITS}


def begin_action(step: EnrollStep) -> Mapping[str, Any]:
    """`totp.begin`: a new secret, shown once, to be confirmed with `totp.confirm`."""
    secret = new_secret()
    pending = PendingSecret(step.ctx.factor_key).seal(step.domain, step.username, secret, step.now)
    account = f"{step.username}@{step.domain}"
    return {"pending": pending, **begin_reply(secret, account, step.ctx.config.totp.issuer)}


def confirm_action(step: EnrollStep) -> Mapping[str, Any]:
    """`totp.confirm` `{"pending", "code"}`: the app is set up when the code is right."""
    body = step.request.body
    typed = text(body, "code")
    secret = PendingSecret(step.ctx.factor_key).open(
        step.domain, step.username, text(body, "pending"), step.now
    )
    if secret is None:
        raise FlowError("session_expired", "the authenticator secret is not valid or too old")
    with step.locked() as record:
        if not confirm(record, secret, typed, step.now, step.ctx.config.totp.drift):
            step.failed(WRONG)
            raise FlowError("wrong_code")
        step.save(record)
    step.succeeded(ENROLLED)
    step.factors_changed()
    return {"factors": list(record.factors)}


def remove_action(step: EnrollStep) -> Mapping[str, Any]:
    """`totp.remove`: the authenticator is no longer a factor of this account."""
    return step.remove(KIND, REMOVED)


FACTOR = TotpFactor()
ENROLL_ACTIONS = {
    "totp.begin": begin_action,
    "totp.confirm": confirm_action,
    "totp.remove": remove_action,
}
