"""The relay's API as one table: each operation's method, path, handler, body, success reply
and the problem codes it can answer. app.py builds the routes from it and openapi.py the
document, so no endpoint can exist undocumented."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, TypeAdapter

from pwreset.api import bodies, endpoints, replies
from pwreset.protocol.codes import ERRORS

BASE = "/{site}/api/v1"

# --- problem codes, by where they come from ---------------------------------------------------
# Any API path: the relay's own checks and its transport.
_API = ("https_required", "unknown_site", "server_unreachable", "server_error")
# A request with a body (pwreset.api.validation), and the unknown-field/type refusals.
_BODY = ("bad_request", "empty_field", "field_too_long", "invalid_characters", "request_too_large")
# A flow: the site must offer it, and the per-address limit applies.
_GATE = ("flow_disabled", "rate_limited")
_DIRECTORY = ("directory_unreachable", "directory_refused", "not_permitted")
_NEW_PASSWORD = (
    "password_too_short",
    "password_in_history",
    "password_complexity",
    "password_too_young",
    "password_rejected",
)
_CHANGE = (*_API, *_BODY, *_GATE, *_DIRECTORY, *_NEW_PASSWORD, "unknown_domain",
           "wrong_password", "account_disabled")  # fmt: skip
_ENROLL = (*_API, *_BODY, *_GATE, *_DIRECTORY, "unknown_domain", "wrong_password",
           "account_disabled", "identical_questions", "unknown_question", "own_question_required",
           "answer_too_short", "invalid_email")  # fmt: skip
_ENROLL_START = (*_API, *_BODY, *_GATE, *_DIRECTORY, "unknown_domain", "wrong_password",
                 "account_disabled")  # fmt: skip
_ENROLL_FACTOR = (*_API, *_BODY, *_GATE, *_DIRECTORY, "session_expired", "wrong_code",
                  "passkey_invalid", "passkey_unknown", "passkey_limit",
                  "passkey_unavailable")  # fmt: skip
_START = (*_API, *_BODY, *_GATE, *_DIRECTORY, "unknown_domain", "locked_out", "code_not_sent")
_STEP = (*_API, *_BODY, *_GATE, *_DIRECTORY, *_NEW_PASSWORD, "session_expired", "wrong_answer",
         "wrong_code", "code_expired", "code_dead", "code_not_sent", "locked_out",
         "account_disabled", "account_locked", "passkey_refused",
         "passkey_unavailable")  # fmt: skip
_STATUS = (*_API, "bad_request", "invalid_characters", "api_disabled", "directory_unreachable",
           "directory_refused")  # fmt: skip


@dataclass(frozen=True)
class Operation:
    id: str
    method: str
    path: str
    summary: str
    handler: endpoints.Endpoint
    replies: tuple[type[BaseModel], ...]
    problems: tuple[str, ...] = ()
    body: TypeAdapter[Any] | None = None
    # Follow-up operations for the document's links: link name -> (operation id, body).
    links: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)
    relayed: bool = True


def _relayed(flow: str, step: str, summary: str, body: TypeAdapter[Any], **kw: Any) -> Operation:
    """POST {flow} or {flow}/{step}: `body` relayed as the backend operation `flow[.step]`."""
    id, path, op = (f"{flow}_{step}", f"{flow}/{step}", f"{flow}.{step}") if step else (flow,) * 3
    handler = endpoints.relayed(flow, op, body)
    return Operation(id, "POST", f"{BASE}/{path}", summary, handler, body=body, **kw)


def _recovery(flow: str, what: str) -> tuple[Operation, Operation]:
    next_step = {f"{flow}_step": (f"{flow}_step", {"flow": "$response.body#/flow"})}
    start = _relayed(
        flow,
        "start",
        f"Start {what}: the first step.",
        bodies.START,
        replies=(replies.FlowStep,),
        problems=_START,
        links=next_step,
    )
    step = _relayed(
        flow,
        "step",
        f"Answer the current step of {what}.",
        bodies.STEP,
        replies=(replies.FlowStep, replies.Done),
        problems=_STEP,
        links=next_step,
    )
    return start, step


def _enrollment(id: str, path: str, who: str) -> Operation:
    return Operation(
        id=id,
        method="GET",
        path=f"{BASE}/enrollments/{path}",
        summary=(
            f"Whether {who} is enrolled (the site's enrollment_status, "
            "else [api] enrollment_status)."
        ),
        handler=endpoints.enrollment,
        replies=(replies.Enrollment,),
        problems=_STATUS,
    )


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        id="health",
        method="GET",
        path="/healthz",
        summary="Whether the relay and its backends answer.",
        handler=endpoints.healthz,
        replies=(replies.Health,),
        relayed=False,
    ),
    Operation(
        id="meta",
        method="GET",
        path=f"{BASE}/meta",
        summary="What the pages need to know about the site.",
        handler=endpoints.meta,
        replies=(replies.Meta,),
        problems=_API,
    ),
    _relayed(
        "change",
        "",
        "Change a password with the current one.",
        bodies.CHANGE,
        replies=(replies.Done,),
        problems=_CHANGE,
    ),
    _relayed(
        "enroll",
        "",
        "Enroll security questions (and an e-mail address).",
        bodies.ENROLL,
        replies=(replies.Done,),
        problems=_ENROLL,
    ),
    _relayed(
        "enroll",
        "start",
        "Open an enroll session: prove the password; reply: its token and the factors the "
        "user has, those the policy needs and those the site offers.",
        bodies.ENROLL_START,
        replies=(replies.EnrollSession,),
        problems=_ENROLL_START,
        links={"enroll_factor": ("enroll_factor", {"enroll": "$response.body#/enroll"})},
    ),
    _relayed(
        "enroll",
        "factor",
        "One action of an enroll session: enroll, list, rename or remove a factor.",
        bodies.ENROLL_FACTOR,
        replies=(replies.EnrollAction,),
        problems=_ENROLL_FACTOR,
    ),
    *_recovery("reset", "a password reset"),
    *_recovery("unlock", "an account unlock"),
    # The UPN route first: "upn" would otherwise be read as a domain.
    _enrollment("enrollment_by_upn", "upn/{upn}", "user@domain"),
    _enrollment("enrollment", "{domain}/{user}", "a user"),
)


def problem_codes(operation: Operation) -> tuple[str, ...]:
    """The codes `operation` can answer. A code no group above names yet (a new one in
    pwreset.protocol.codes) is documented on every relayed operation until it is sorted."""
    if not operation.relayed:
        return ()
    known = {code for op in OPERATIONS for code in op.problems}
    new = tuple(code for code in ERRORS if code not in known)
    return tuple(dict.fromkeys((*operation.problems, *new)))
