"""Passkeys (WebAuthn) as a factor: registered at enroll, several per user, and used to
reset or unlock; verified with py_webauthn.

Every passkey is a discoverable credential, so the reset's options carry an empty
allowCredentials and are the same for everyone (nobody learns who has a passkey); the server
then checks that the credential the browser returns is one of the flow's user's, with their
user handle (a random id per user, never the name). User verification is required: the
passkey stands for possession and a PIN or biometric, which is what its weight in the policy
assumes. Every challenge is single-use and bound to its flow (at enroll, to the user). It carries
its own proof (a MAC over the binding and its time, see `_issue`), so asking for options
stores nothing: a flood of passkey steps, which no lockout counts, cannot grow the store.
Only an answer to a genuine, fresh challenge is written down, as spent.

Storage, in the sealed `record.enrollment`: "passkeys" (the list below) and "passkey_user"
(the user handle).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from cryptography.hazmat.primitives.asymmetric import ec
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from pwreset.config.passkey_settings import RelyingParty
from pwreset.protocol.limits import PAGE_FIELDS
from pwreset.server.flows import lockout
from pwreset.server.flows.context import FlowContext
from pwreset.server.flows.errors import FlowError
from pwreset.server.flows.factors.base import EnrollStep
from pwreset.server.flows.fields import text
from pwreset.server.storage import KeyedRecords, UserRecord
from pwreset.server.storage.users import user_key

if TYPE_CHECKING:
    from pwreset.server.flows.recovery import Recovery

# How long the browser may take over a ceremony (ms), and how long its challenge lives.
TIMEOUT_MS = 300_000
CHALLENGE_TTL = TIMEOUT_MS / 1000 + 30
# Passkeys one user may hold: enough for a phone, a laptop and two security keys.
MAX_PASSKEYS = 10
_SPENT = "pk-spent:"
# A challenge: a nonce and the time in ms (signed), then the MAC, then the user handle.
_NONCE, _TAG = 16, 16
_SIGNED = _NONCE + 8
# How far another server's clock may be ahead of this one's (a shared store).
CLOCK_SKEW = 60.0
_UV = UserVerificationRequirement.REQUIRED


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def _decoy_public_key() -> bytes:
    """A COSE P-256 key nobody holds the private half of: credentials that belong to no
    passkey of the user are checked against it, so every refusal costs one verification."""
    numbers = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
    x, y = numbers.x.to_bytes(32, "big"), numbers.y.to_bytes(32, "big")
    # {1: 2 (EC2), 3: -7 (ES256), -1: 1 (P-256), -2: x, -3: y} in CBOR.
    return bytes.fromhex("a5010203262001215820") + x + b"\x22\x58\x20" + y


_DECOY_KEY = _decoy_public_key()


# --- the relying party and the challenges ---------------------------------------------------


def relying_party(ctx: FlowContext, vdir: str) -> RelyingParty:
    party = ctx.config.relying_party(vdir)
    if party is None:
        raise FlowError("passkey_unavailable", f"site {vdir!r} has no passkey_rp_id")
    return party


def _binding(domain: str, username: str, purpose: str) -> bytes:
    """Who and what a challenge is for: the user, and the flow or (any of the user's
    enroll sessions) "enroll"."""
    return f"{user_key(domain, username)}\0{purpose}".encode()


def _tag(ctx: FlowContext, binding: bytes, signed: bytes) -> bytes:
    key = hmac.new(ctx.factor_key, b"passkey challenges", hashlib.sha256).digest()
    return hmac.new(key, binding + b"\0" + signed, hashlib.sha256).digest()[:_TAG]


def _issue(ctx: FlowContext, binding: bytes, now: float, handle: str = "") -> bytes:
    """A new challenge for `binding` (and, at enroll, the user handle it creates for):
    random bytes, the time, a MAC over both with the binding, and the handle."""
    signed = os.urandom(_NONCE) + struct.pack(">Q", int(now * 1000))
    extra = _unb64(handle) if handle else b""
    return signed + _tag(ctx, binding, signed + extra) + extra


def _take(
    ctx: FlowContext, credential: Mapping[str, Any], binding: bytes, now: float
) -> tuple[bytes, str]:
    """The challenge the credential answers, spent, and its user handle, if it was issued
    for `binding`, is fresh and was not answered before; otherwise b"" (someone else's,
    made up, stale or used already)."""
    try:
        client_data = json.loads(_unb64(credential["response"]["clientDataJSON"]))
        challenge = _unb64(client_data["challenge"])
    except (KeyError, TypeError, ValueError, UnicodeDecodeError):
        return b"", ""
    signed, tag, extra = (
        challenge[:_SIGNED],
        challenge[_SIGNED : _SIGNED + _TAG],
        challenge[_SIGNED + _TAG :],
    )
    if len(tag) != _TAG or not hmac.compare_digest(tag, _tag(ctx, binding, signed + extra)):
        return b"", ""
    issued = struct.unpack(">Q", signed[_NONCE:])[0] / 1000
    if not issued - CLOCK_SKEW <= now <= issued + CHALLENGE_TTL:
        return b"", ""
    key = _SPENT + hashlib.sha256(challenge).hexdigest()
    with ctx.db.keyed.locked():
        if ctx.db.keyed.get(key) is not None:
            return b"", ""
        ctx.db.keyed.put(key, {"touched": issued})
    ctx.passkey_sweep.maybe(now, lambda at: sweep_spent(ctx.db.keyed, at))
    return challenge, _b64(extra) if extra else ""


def sweep_spent(keyed: KeyedRecords, now: float) -> int:
    """Remove the marks of challenges too old to be accepted anyway; how many. The store
    then holds at most what `CHALLENGE_TTL` of answers wrote, however many came."""
    stale = [
        key
        for key, doc in keyed.items(_SPENT)
        if float(doc.get("touched") or 0.0) < now - CHALLENGE_TTL - CLOCK_SKEW
    ]
    return keyed.delete_many(stale)


def _credential(body: Mapping[str, Any]) -> Mapping[str, Any]:
    """The PublicKeyCredential JSON of the step (the relay checked its shape and size; the
    backend checks again: it never trusts the relay)."""
    value = body.get("credential")
    if not isinstance(value, Mapping):
        raise FlowError("empty_field", "credential is required", field="credential")
    if len(json.dumps(value, separators=(",", ":"))) > PAGE_FIELDS["credential"]:
        raise FlowError("field_too_long", "credential is too long", field="credential")
    return value


# --- stored passkeys ------------------------------------------------------------------------


def stored(record: UserRecord | None) -> list[dict[str, Any]]:
    return list((record.enrollment or {}).get("passkeys") or []) if record else []


def _keep(record: UserRecord, passkeys: list[dict[str, Any]], handle: str) -> None:
    enrollment = dict(record.enrollment or {})
    if passkeys:
        enrollment["passkeys"] = passkeys
        enrollment["passkey_user"] = handle
    else:
        enrollment.pop("passkeys", None)
        enrollment.pop("passkey_user", None)
    record.enrollment = enrollment or None


def _shown(record: UserRecord) -> dict[str, Any]:
    """The user's passkeys as the enroll page lists them (no key material), and the kinds
    of factor the user has."""
    return {
        "passkeys": [
            {"id": p["id"], "name": p["name"], "added": p["added"], "used": p.get("used")}
            for p in stored(record)
        ],
        "factors": list(record.factors),
    }


# --- the factor -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Passkeys:
    kind: ClassVar[str] = "passkey"

    def has(self, record: UserRecord) -> bool:
        return bool(stored(record))

    def ask(self, recovery: Recovery, record: UserRecord | None) -> Mapping[str, Any]:
        """The same options for everyone: a fresh challenge bound to the flow, no list of
        credentials."""
        ctx, state = recovery.ctx, recovery.state
        party = relying_party(ctx, state.site)
        binding = _binding(state.domain, state.username, "flow " + state.flow_id)
        options = generate_authentication_options(
            rp_id=party.id,
            challenge=_issue(ctx, binding, recovery.now),
            timeout=TIMEOUT_MS,
            allow_credentials=[],
            user_verification=_UV,
        )
        return {"kind": "passkey", "options": json.loads(options_to_json(options))}

    def check(self, recovery: Recovery, record: UserRecord | None) -> Mapping[str, Any] | None:
        """Proven by a credential of the user's, answering this flow's challenge. A refusal
        carries the options of a new challenge (`params.options`) for another try."""
        ctx, state, now = recovery.ctx, recovery.state, recovery.now
        credential = _credential(recovery.request.body)
        party = relying_party(ctx, state.site)
        passkeys = stored(record)
        # A name without a record is a decoy; an enrolled user without a passkey is
        # refused below and counted in their own record, as one with a passkey would be
        # (decoy strikes would leave their next start unlocked and tell them apart).
        if record is None:
            recovery.decoy_check(counted=True)
        else:
            lockout.check(lockout.of_record(record), ctx.config.security, now)
        binding = _binding(state.domain, state.username, "flow " + state.flow_id)
        challenge, _ = _take(ctx, credential, binding, now)
        raw_id = credential.get("rawId", credential.get("id"))
        entry = next((p for p in passkeys if p["id"] == raw_id), None)
        # One verification whatever is wrong, so a refusal costs the same for everyone.
        why = ""
        try:
            verified = verify_authentication_response(
                credential=dict(credential),
                expected_challenge=challenge or os.urandom(32),
                expected_rp_id=party.id,
                expected_origin=list(party.origins),
                credential_public_key=_unb64(entry["public_key"]) if entry else _DECOY_KEY,
                credential_current_sign_count=0,  # compared below, after the signature
                require_user_verification=True,
            )
        except WebAuthnException as exc:
            why = f"not verified ({type(exc).__name__})"
        if record is None:
            recovery.decoy_failure("passkey refused: no passkey enrolled")
            raise self._refused(recovery, record)
        handle = (record.enrollment or {}).get("passkey_user")
        returned = credential.get("response")
        if not passkeys:
            why = "no passkey enrolled"
        elif not challenge:
            why = "its challenge was not issued for this flow, has expired or was used before"
        elif entry is None:
            why = "not one of the user's passkeys"
        elif not isinstance(returned, Mapping) or returned.get("userHandle") != handle:
            why = "its user handle is not the user's"
        if why or entry is None:
            recovery.count_failure(record, f"passkey refused: {why}")
            raise self._refused(recovery, record)
        before = int(entry.get("sign_count", 0))
        if (verified.new_sign_count or before) and verified.new_sign_count <= before:
            # A copy of the key signs with a counter the original has already used.
            recovery.count_failure(
                record,
                f"passkey {entry['name']!r} refused: its signature counter went back "
                f"({verified.new_sign_count} after {before}): a cloned authenticator?",
            )
            raise self._refused(recovery, record)
        entry["sign_count"] = verified.new_sign_count
        entry["used"] = now
        ctx.db.users.save(record)
        recovery.succeeded(f"passkey {entry['name']!r} used")
        return None

    def _refused(self, recovery: Recovery, record: UserRecord | None) -> FlowError:
        """The refusal, with the options of a new challenge: the one answered is spent."""
        options = json.dumps(self.ask(recovery, record)["options"], separators=(",", ":"))
        return FlowError("passkey_refused", "the passkey was not accepted", options=options)


FACTOR = Passkeys()


# --- enroll actions -------------------------------------------------------------------------


def begin(step: EnrollStep) -> Mapping[str, Any]:
    """The options to create a passkey: for this user's handle, excluding the passkeys the
    user has (an authenticator holds one per site and user)."""
    ctx = step.ctx
    party = relying_party(ctx, step.request.vdir)
    with step.locked() as record:
        passkeys = stored(record)
        if len(passkeys) >= MAX_PASSKEYS:
            raise FlowError("passkey_limit", f"{MAX_PASSKEYS} passkeys at most")
        handle = (record.enrollment or {}).get("passkey_user") or _b64(os.urandom(32))
        binding = _binding(step.domain, step.username, "enroll")
        options = generate_registration_options(
            rp_id=party.id,
            rp_name=party.name,
            user_id=_unb64(handle),
            user_name=step.username,
            user_display_name=step.username,
            challenge=_issue(ctx, binding, step.now, handle),
            timeout=TIMEOUT_MS,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED,
                user_verification=_UV,
            ),
            exclude_credentials=[
                PublicKeyCredentialDescriptor(id=_unb64(p["id"])) for p in passkeys
            ],
        )
    return {"options": json.loads(options_to_json(options))}


def finish(step: EnrollStep) -> Mapping[str, Any]:
    """Verify and store the passkey the browser created with `begin`'s options."""
    ctx = step.ctx
    party = relying_party(ctx, step.request.vdir)
    credential = _credential(step.request.body)
    name = text(step.request.body, "name", required=False).strip()
    with step.locked() as record:
        passkeys = stored(record)
        if len(passkeys) >= MAX_PASSKEYS:
            raise FlowError("passkey_limit", f"{MAX_PASSKEYS} passkeys at most")
        binding = _binding(step.domain, step.username, "enroll")
        challenge, handle = _take(ctx, credential, binding, step.now)
        # The user handle the options named must be the user's: two first passkeys begun at
        # once name two new handles, and only the first one finished becomes the user's.
        kept = (record.enrollment or {}).get("passkey_user")
        if not challenge or (kept and handle != kept):
            step.failed("passkey not added: its challenge was not issued to this user, has "
                        "expired or was used before")  # fmt: skip
            raise FlowError("passkey_invalid", "begin again")
        try:
            verified = verify_registration_response(
                credential=dict(credential),
                expected_challenge=challenge,
                expected_rp_id=party.id,
                expected_origin=list(party.origins),
                require_user_verification=True,
            )
        except WebAuthnException as exc:
            # The exception's text quotes what the browser sent: only its kind is audited.
            step.failed(f"passkey not added: not verified ({type(exc).__name__})")
            raise FlowError("passkey_invalid") from None
        new_id = _b64(verified.credential_id)
        if any(p["id"] == new_id for p in passkeys):
            step.failed("passkey not added: already registered")
            raise FlowError("passkey_invalid", "this passkey is registered already")
        name = name or f"Passkey {len(passkeys) + 1}"
        passkeys.append(
            {
                "id": new_id,
                "public_key": _b64(verified.credential_public_key),
                "sign_count": verified.sign_count,
                "name": name,
                "added": step.now,
                "used": None,
                "transports": _transports(credential),
            }
        )
        _keep(record, passkeys, handle)
        step.save(record)
    step.succeeded(f"passkey {name!r} added")
    step.factors_changed()
    return _shown(record)


def listed(step: EnrollStep) -> Mapping[str, Any]:
    with step.locked() as record:
        return _shown(record)


def _chosen(step: EnrollStep, passkeys: list[dict[str, Any]]) -> dict[str, Any]:
    """The passkey the request's `credential_id` names, among the session user's own."""
    chosen = text(step.request.body, "credential_id")
    found = next((p for p in passkeys if p["id"] == chosen), None)
    if found is None:
        raise FlowError("passkey_unknown")
    return found


def remove(step: EnrollStep) -> Mapping[str, Any]:
    with step.locked() as record:
        passkeys = stored(record)
        gone = _chosen(step, passkeys)
        passkeys.remove(gone)
        _keep(record, passkeys, (record.enrollment or {}).get("passkey_user", ""))
        step.save(record)
    step.succeeded(f"passkey {gone['name']!r} removed")
    step.factors_changed()
    return _shown(record)


def rename(step: EnrollStep) -> Mapping[str, Any]:
    """`passkey.rename`: the label the user tells their passkeys apart by; the key, its
    counter and the user's factors are untouched, so no factor_change alert."""
    name = text(step.request.body, "name").strip()
    with step.locked() as record:
        passkeys = stored(record)
        found = _chosen(step, passkeys)
        before = found["name"]
        if name != before:
            found["name"] = name  # the dict in record.enrollment itself
            step.save(record)
    if name != before:
        step.succeeded(f"passkey {before!r} renamed to {name!r}")
    return _shown(record)


def _transports(credential: Mapping[str, Any]) -> list[str]:
    known = {t.value for t in AuthenticatorTransport}
    response = credential.get("response")
    given = response.get("transports") if isinstance(response, Mapping) else None
    return [t for t in given if t in known] if isinstance(given, list) else []


ENROLL_ACTIONS = {
    "passkey.begin": begin,
    "passkey.finish": finish,
    "passkey.list": listed,
    "passkey.remove": remove,
    "passkey.rename": rename,
}
