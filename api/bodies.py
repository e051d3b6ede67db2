"""What each endpoint accepts: request bodies and path names, as pydantic models.

One definition serves twice: the relay validates every request with it
(pwreset.api.validation) and the OpenAPI document is generated from it
(pwreset.api.openapi), so the two cannot disagree. The backend checks the same limits again
(pwreset.server.flows.fields): the relay is a first filter, never trusted. The limits
are the contract's (pwreset.protocol.limits).
"""

from __future__ import annotations

import functools
import json
import sys
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
)
from pydantic_core import PydanticCustomError

from pwreset.protocol.limits import MAX_QUESTIONS
from pwreset.protocol.limits import PAGE_FIELDS as LIMITS
from pwreset.protocol.printable import describe, first_unsafe, is_unsafe

# --- what a field's text may hold -----------------------------------------------------------


def _not_blank(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("empty_field", "the field is required")
    return value


def _safe_name(value: str) -> str:
    # Names end up in logs, the audit and the console: no character there may forge a line
    # or drive a terminal (pwreset.protocol.printable).
    char = first_unsafe(value)
    if char is not None:
        raise PydanticCustomError(
            "invalid_characters",
            "a character that is not allowed ({char})",
            {"char": describe(char)},
        )
    return value


def _upn_shape(value: str) -> str:
    if "@" not in value.strip("@"):
        raise PydanticCustomError("bad_request", "a UPN looks like user@domain")
    return value


@functools.cache
def _class(predicate: str) -> str:
    """A regex character class body listing every character `predicate` names, from the
    same definitions the validators use (computed once, for the document only)."""
    test = is_unsafe if predicate == "unsafe" else str.isspace
    ranges: list[tuple[int, int]] = []
    for code in range(sys.maxunicode + 1):
        # Lone surrogates are left out: no JSON Schema tool's regex takes them, and every
        # string field refuses them anyway (not Unicode text, so never sealed).
        if test(chr(code)) and not 0xD800 <= code <= 0xDFFF:
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    return "".join(_char(a) if a == b else f"{_char(a)}-{_char(b)}" for a, b in ranges)


def _char(code: int) -> str:
    # BMP characters as \uXXXX escapes (ECMA-262 and Python alike); astral ones literally.
    return f"\\u{code:04x}" if code <= 0xFFFF else chr(code)


# Unanchored patterns only, plus `not`: `$` differs between ECMA-262 and Python (which lets
# it match before a final newline), a search for one character does not.


def _text_pattern(schema: dict[str, Any]) -> None:
    """Required text: at least one character that is not white space."""
    schema["pattern"] = f"[^{_class('space')}]"


def _name_pattern(schema: dict[str, Any]) -> None:
    """A required name: not blank, and no unsafe character."""
    schema["pattern"] = f"[^{_class('unsafe')}{_class('space')}]"
    schema["not"] = {"pattern": f"[{_class('unsafe')}]"}


def _upn_pattern(schema: dict[str, Any]) -> None:
    """user@domain: an @ with something other than @ on each side; no unsafe character."""
    schema["pattern"] = "[^@]@+[^@]"
    schema["not"] = {"pattern": f"[{_class('unsafe')}]"}


def _name(limit: int, what: str) -> Any:
    return Field(max_length=limit, description=what, json_schema_extra=_name_pattern)


def _required(limit: int, what: str) -> Any:
    return Field(max_length=limit, description=what, json_schema_extra=_text_pattern)


NotBlank = AfterValidator(_not_blank)
SafeName = AfterValidator(_safe_name)
SafeNameOrNone = AfterValidator(lambda value: value if value is None else _safe_name(value))
Domain = Annotated[
    str,
    _name(LIMITS["domain"], "The domain (NetBIOS name, DNS name or alias)."),
    NotBlank,
    SafeName,
]
Username = Annotated[str, _name(LIMITS["username"], "The user's sign-in name."), NotBlank, SafeName]
Lang = Annotated[
    str | None,
    Field(max_length=LIMITS["lang"], description="The page's language (messages and mails)."),
]
FlowToken = Annotated[
    str, _required(LIMITS["flow"], "The flow token of the previous reply."), NotBlank
]
NewPassword = Annotated[str, _required(LIMITS["new_password"], "The new password."), NotBlank]


class _Body(BaseModel):
    # Strict: a number is not a string; an unknown field is refused, not ignored.
    model_config = ConfigDict(extra="forbid", strict=True)


class ChangeBody(_Body):
    """Change a password knowing the current one."""

    domain: Domain
    username: Username
    old_password: Annotated[
        str, _required(LIMITS["old_password"], "The current password."), NotBlank
    ]
    new_password: NewPassword
    lang: Lang = None


class Answer(_Body):
    """One chosen (or typed) question and its answer; the backend checks the content."""

    question: Annotated[str, Field(max_length=LIMITS["question"])] = ""
    answer: Annotated[str, Field(max_length=LIMITS["answer"])] = ""


class EnrollBody(_Body):
    """Enroll: prove the password, store the questions and (hashed) answers."""

    domain: Domain
    username: Username
    password: Annotated[
        str, _required(LIMITS["password"], "The user's current password."), NotBlank
    ]
    email: Annotated[
        str | None,
        Field(
            default=None,
            max_length=LIMITS["email"],
            description="A private e-mail address for codes and alerts ([enroll] email).",
        ),
    ] = None
    lang: Lang = None
    answers: Annotated[
        list[Answer],
        Field(
            min_length=1,
            max_length=MAX_QUESTIONS,
            description="As many as the site asks for (meta: enroll.questions).",
        ),
    ]


class StartBody(_Body):
    """Start a reset or an unlock."""

    domain: Domain
    username: Username
    lang: Lang = None


class StepWithAnswer(_Body):
    """The answer to the current question step."""

    flow: FlowToken
    answer: Annotated[str, _required(LIMITS["answer"], "The answer."), NotBlank]
    lang: Lang = None


class StepWithCode(_Body):
    """The verification code of the current code step."""

    flow: FlowToken
    code: Annotated[str, _required(LIMITS["code"], "The code as received."), NotBlank]
    lang: Lang = None


class StepWithFactor(_Body):
    """The kind of factor chosen at a choose step (one of the step's `factors`)."""

    flow: FlowToken
    factor: Annotated[
        str, _required(LIMITS["factor"], "A kind of factor the step offers."), NotBlank
    ]
    lang: Lang = None


def _credential_shape(value: dict[str, Any]) -> dict[str, Any]:
    """A PublicKeyCredential as JSON, passed to the backend unchanged: checked here for its
    size and shape only (the backend verifies it)."""
    if len(json.dumps(value, separators=(",", ":"))) > LIMITS["credential"]:
        raise PydanticCustomError("field_too_long", "the credential is too large")
    response = value.get("response")
    named = all(isinstance(value.get(k), str) and value[k] for k in ("id", "rawId"))
    if not named or value.get("type") != "public-key" or not isinstance(response, dict):
        raise PydanticCustomError(
            "bad_request", "credential: a PublicKeyCredential as JSON (id, rawId, type, response)"
        )
    return value


Credential = Annotated[
    dict[str, Any],
    Field(
        description="A WebAuthn PublicKeyCredential as JSON (base64url for bytes), passed "
        "through unchanged and verified by the backend.",
    ),
    AfterValidator(_credential_shape),
]


class StepWithCredential(_Body):
    """The passkey's answer to a passkey step."""

    flow: FlowToken
    credential: Credential
    lang: Lang = None


class StepWithPassword(_Body):
    """The new password of the password step (reset only)."""

    flow: FlowToken
    new_password: NewPassword
    lang: Lang = None


_STEP_FIELDS = ("answer", "code", "new_password", "factor", "credential")


def _which_step(data: Any) -> str | None:
    if not isinstance(data, dict):
        return None
    given = [name for name in _STEP_FIELDS if name in data]
    return given[0] if len(given) == 1 else None


StepBody = Annotated[
    Annotated[StepWithAnswer, Tag("answer")]
    | Annotated[StepWithCode, Tag("code")]
    | Annotated[StepWithPassword, Tag("new_password")]
    | Annotated[StepWithFactor, Tag("factor")]
    | Annotated[StepWithCredential, Tag("credential")],
    Discriminator(
        _which_step,
        custom_error_type="bad_request",
        custom_error_message="send exactly one of answer, code, new_password, factor or credential",
    ),
]


class EnrollStartBody(_Body):
    """Open an enroll session: prove the password; the factors enroll in `enroll/factor`."""

    domain: Domain
    username: Username
    password: Annotated[
        str, _required(LIMITS["password"], "The user's current password."), NotBlank
    ]
    lang: Lang = None


class EnrollFactorBody(_Body):
    """One action of an enroll session (`totp.begin`, `passkey.finish`, ...), with the
    fields that action reads."""

    enroll: Annotated[
        str, _required(LIMITS["enroll"], "The token of the enroll/start reply."), NotBlank
    ]
    action: Annotated[
        str,
        Field(
            max_length=LIMITS["action"],
            pattern=r"^[a-z_]+\.[a-z_]+$",
            description="<kind>.<verb>, e.g. totp.begin.",
        ),
    ]
    code: Annotated[str | None, Field(max_length=LIMITS["code"])] = None
    pending: Annotated[
        str | None,
        Field(max_length=LIMITS["pending"], description="totp.confirm: totp.begin's pending."),
    ] = None
    credential: Credential | None = None
    credential_id: Annotated[str | None, Field(max_length=LIMITS["credential_id"])] = None
    name: Annotated[str | None, Field(max_length=LIMITS["name"]), SafeNameOrNone] = None
    lang: Lang = None


# --- path names -----------------------------------------------------------------------------


class EnrollmentPath(_Body):
    domain: Domain
    user: Username


class UpnPath(_Body):
    upn: Annotated[
        str,
        Field(
            max_length=LIMITS["upn"],
            description="user@domain",
            json_schema_extra=_upn_pattern,
        ),
        AfterValidator(_upn_shape),
        SafeName,
    ]


CHANGE = TypeAdapter(ChangeBody)
ENROLL = TypeAdapter(EnrollBody)
START = TypeAdapter(StartBody)
STEP: TypeAdapter[
    StepWithAnswer | StepWithCode | StepWithPassword | StepWithFactor | StepWithCredential
] = TypeAdapter(StepBody)
ENROLL_START = TypeAdapter(EnrollStartBody)
ENROLL_FACTOR = TypeAdapter(EnrollFactorBody)
ENROLLMENT_PATH = TypeAdapter(EnrollmentPath)
UPN_PATH = TypeAdapter(UpnPath)
