"""Stable error codes shared by the backend, the relay and the pages.

Each error has an API `code` (snake_case, stable, used in problem+json), the `message_id`
the pages translate (the original product's `RES_*` style), an HTTP status for the relay,
and an English detail used when no better text is given. Codes are part of the public
contract: add new ones, never rename.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ErrorKind:
    code: str
    message_id: str
    status: int
    detail: str


_KINDS: tuple[ErrorKind, ...] = (
    # --- request shape (relay-side validation) -------------------------------------------
    ErrorKind("bad_request", "RES_BAD_REQUEST", 400, "The request is not valid."),
    ErrorKind("empty_field", "RES_EMPTY_FIELD", 400, "A required field is empty."),
    ErrorKind("field_too_long", "RES_FIELD_TOO_LONG", 400, "A field is longer than allowed."),
    ErrorKind(
        "invalid_characters",
        "RES_INVALID_CHARACTERS",
        400,
        "A name contains a character that is not allowed (a control or formatting character).",
    ),
    ErrorKind("unknown_site", "RES_UNKNOWN_SITE", 404, "There is no such site."),
    ErrorKind("flow_disabled", "RES_FLOW_DISABLED", 403, "This feature is not enabled here."),
    ErrorKind("unknown_domain", "RES_UNKNOWN_DOMAIN", 400, "The domain is not known."),
    ErrorKind("request_too_large", "RES_BAD_REQUEST", 413, "The request is too large."),
    ErrorKind("rate_limited", "RES_RATE_LIMITED", 429, "Too many attempts; try again later."),
    ErrorKind(
        "https_required", "RES_HTTPS_REQUIRED", 403, "Use the https:// address of this site."
    ),
    # --- directory outcomes -----------------------------------------------------------------
    ErrorKind(
        "wrong_password",
        "RES_WRONG_PASSWORD",
        401,
        "The username or the current password is not correct.",
    ),
    ErrorKind(
        "password_too_short",
        "RES_POLICY_TOO_SHORT",
        422,
        "The new password is shorter than the password policy allows.",
    ),
    ErrorKind(
        "password_in_history",
        "RES_POLICY_HISTORY",
        422,
        "The new password was used recently; choose one you have not used before.",
    ),
    ErrorKind(
        "password_complexity",
        "RES_POLICY_COMPLEXITY",
        422,
        "The new password does not meet the complexity rules.",
    ),
    ErrorKind(
        "password_too_young",
        "RES_POLICY_TOO_YOUNG",
        422,
        "The password was changed too recently to be changed again.",
    ),
    ErrorKind(
        "password_rejected",
        "RES_POLICY_REJECTED",
        422,
        "The directory rejected the new password.",
    ),
    ErrorKind(
        "password_rule",
        "RES_PASSWORD_RULE",
        422,
        "The new password breaks a password rule; `rules` names the rules it breaks.",
    ),
    ErrorKind(
        "account_locked",
        "RES_LOCKED_OUT_AD",
        423,
        "The account is locked because of too many failed sign-ins.",
    ),
    ErrorKind("account_disabled", "RES_ACCOUNT_DISABLED", 403, "The account is disabled."),
    ErrorKind(
        "not_permitted",
        "RES_NOT_PERMITTED",
        403,
        "This account is not allowed to use this feature.",
    ),
    ErrorKind(
        "directory_unreachable",
        "RES_DIRECTORY_UNREACHABLE",
        502,
        "The directory could not be reached.",
    ),
    ErrorKind(
        "directory_refused",
        "RES_DIRECTORY_REFUSED",
        502,
        "The directory refused the operation; the service account may lack a right.",
    ),
    # --- enroll, reset and unlock ------------------------------------------------------------
    ErrorKind(
        "identical_questions",
        "RES_IDENTICAL_QUESTIONS",
        400,
        "Two questions are the same; choose different ones.",
    ),
    ErrorKind("unknown_question", "RES_UNKNOWN_QUESTION", 400, "Choose a question from the list."),
    ErrorKind(
        "own_question_required",
        "RES_OWN_QUESTION_REQUIRED",
        400,
        "Type a question of your own here, not one from the list.",
    ),
    ErrorKind(
        "answer_too_short",
        "RES_ANSWER_TOO_SHORT",
        400,
        "An answer has fewer letters and digits than required.",
    ),
    ErrorKind("invalid_email", "RES_INVALID_EMAIL", 400, "The e-mail address is not valid."),
    ErrorKind("wrong_answer", "RES_WRONG_ANSWER", 401, "The answer is not correct."),
    ErrorKind("wrong_code", "RES_WRONG_CODE", 401, "The verification code is not correct."),
    ErrorKind("code_expired", "RES_CODE_EXPIRED", 401, "The verification code has expired."),
    ErrorKind(
        "code_dead",
        "RES_CODE_DEAD",
        401,
        "Too many wrong codes: this code no longer works; start again to get a new one.",
    ),
    ErrorKind(
        "code_not_sent",
        "RES_CODE_NOT_SENT",
        503,
        "No verification code could be sent; contact the help desk.",
    ),
    ErrorKind("passkey_refused", "RES_PASSKEY_REFUSED", 401, "The passkey was not accepted."),
    ErrorKind(
        "passkey_invalid",
        "RES_PASSKEY_INVALID",
        422,
        "The passkey could not be registered; try again, or with another passkey.",
    ),
    ErrorKind("passkey_unknown", "RES_PASSKEY_UNKNOWN", 404, "There is no such passkey."),
    ErrorKind(
        "passkey_limit",
        "RES_PASSKEY_LIMIT",
        422,
        "No more passkeys can be added; remove one first.",
    ),
    ErrorKind(
        "passkey_unavailable",
        "RES_PASSKEY_UNAVAILABLE",
        403,
        "Passkeys are not set up for this site (sites.<name>.passkey_rp_id).",
    ),
    ErrorKind(
        "locked_out",
        "RES_LOCKED_OUT",
        423,
        "Too many wrong answers: try again later, or ask the help desk.",
    ),
    ErrorKind(
        "recovery_limit",
        "RES_RECOVERY_LIMIT",
        429,
        "This account was reset or unlocked as often as allowed in a while; "
        "`retry_after` says in how many seconds it may be again.",
    ),
    ErrorKind(
        "session_expired",
        "RES_SESSION_EXPIRED",
        410,
        "The session expired after a period of inactivity; start again.",
    ),
    ErrorKind("api_disabled", "RES_API_DISABLED", 403, "The enrollment status API is not enabled."),
    # --- factors ------------------------------------------------------------------------------
    ErrorKind(
        "factor_not_offered",
        "RES_FACTOR_NOT_OFFERED",
        403,
        "This kind of factor is not offered on this site (security questions switched off, "
        "or a kind the choose step did not list).",
    ),
    ErrorKind(
        "policy_not_met",
        "RES_POLICY_NOT_MET",
        403,
        "The factors proven do not meet this account's policy, and none is left to prove.",
    ),
    ErrorKind(
        "self_service_blocked",
        "RES_SELF_SERVICE_BLOCKED",
        403,
        "Self-service is blocked from this address or at this time ([[factors.conditions]]).",
    ),
    # --- transport ----------------------------------------------------------------------------
    ErrorKind(
        "server_unreachable",
        "RES_REQUEST_FAILED",
        503,
        "The password reset server did not answer.",
    ),
    ErrorKind("server_error", "RES_SERVER_ERROR", 500, "The password reset server failed."),
    ErrorKind(
        "storage_full",
        "RES_STORAGE_FULL",
        503,
        "The password reset server has no room left to store changes; nothing was changed.",
    ),
)

ERRORS: dict[str, ErrorKind] = {kind.code: kind for kind in _KINDS}


def error_kind(code: str) -> ErrorKind:
    """The registered kind for `code`; an unknown code is reported as a server error."""
    return ERRORS.get(code, ERRORS["server_error"])


def page_message(kind: ErrorKind, params: Mapping[str, str]) -> str:
    """The message id the page shows for `kind`: an empty field names itself
    (`RES_EMPTY_FIELD_USERNAME`), so the page can say which box to fill in."""
    field = params.get("field")
    if kind.message_id == "RES_EMPTY_FIELD" and field:
        return f"RES_EMPTY_FIELD_{field.upper()}"
    return kind.message_id


def problem_body(
    kind: ErrorKind, detail: str, params: Mapping[str, str], message: str | None = None
) -> dict[str, Any]:
    """The problem+json body (RFC 9457) the relay answers `kind` with: the stable `code`,
    the page's `message` id and its `params` besides the standard members."""
    return {
        "type": f"urn:pwreset:problem:{kind.code}",
        "title": kind.detail,
        "status": kind.status,
        "detail": detail,
        "code": kind.code,
        "message": message or page_message(kind, params),
        "params": dict(params),
    }
