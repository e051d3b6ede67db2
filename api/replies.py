"""What each endpoint answers on success, and the problem body of every error, as pydantic
models: the OpenAPI document is generated from them (pwreset.api.openapi), and the tests
check every reply of the real stack against that document, so a reply the backend changes
without changing these models fails the tests."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pwreset.config.schema import Flow


class _Reply(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _optional(schema: dict[str, Any]) -> None:
    """A field that may be absent but is never null: the document shows only its type."""
    branches = [b for b in schema.pop("anyOf", []) if b.get("type") != "null"]
    schema.pop("default", None)
    if branches:
        schema.update(branches[0])


class EnrollRules(_Reply):
    questions: int = Field(description="How many questions a user answers.")
    min_answer_chars: int = Field(description="Letters and digits an answer needs at least.")
    email: Literal["off", "optional", "required"]
    custom_questions: bool | list[bool] = Field(
        description="Users type their own questions: all (true), none (false), or one "
        "true or false per question (apr checklist 28)."
    )
    max_question_length: int
    question_list: dict[str, list[str]] = Field(description="The questions, per language.")


class Verification(_Reply):
    enabled: bool


class PolicyRule(_Reply):
    """One password rule, as docs/passwords.md lists them."""

    id: str = Field(description="Stable rule id: min_length, char_classes, breached...")
    message: str = Field(description="The id of the rule's text; its placeholders are params.")
    params: dict[str, Any]
    checked_by: Literal["page", "server", "directory"]


class PasswordPolicy(_Reply):
    """The password rules a new password must meet (pwreset.server.passwords describe)."""

    version: int
    rules: list[PolicyRule]


class Factors(_Reply):
    offer: list[str] = Field(description="The kinds of factor a reset or unlock may ask for.")
    questions: bool = Field(description="Whether the site uses security questions at all.")


class Meta(_Reply):
    """What the pages need to know about the site."""

    site: str
    title: str
    flows: list[Flow]
    domains: list[str] = Field(description="The domains offered; empty: free text.")
    free_domain: bool
    language: str
    enroll: EnrollRules
    verification: Verification
    factors: Factors
    password_policy: PasswordPolicy


class Done(_Reply):
    """A finished change, enrollment, reset or unlock."""

    status: Literal["done"]
    message: Literal[
        "RES_FINISHED_CHANGE",
        "RES_FINISHED_CHANGE_INVITE",
        "RES_FINISHED_ENROLL",
        "RES_FINISHED_RESET",
        "RES_FINISHED_UNLOCK",
    ] = Field(description="The id of the text the page shows.")


class QuestionStep(_Reply):
    """Answer with `answer`."""

    kind: Literal["question"]
    index: int = Field(ge=1, description="This question's number, from 1.")
    total: int = Field(ge=1)
    prompt: str


class CodeStep(_Reply):
    """A code was sent to these (masked) destinations; answer with `code`."""

    kind: Literal["code"]
    destinations: list[str]


class PasswordStep(_Reply):
    """Send `new_password` (reset only)."""

    kind: Literal["password"]
    policy: PasswordPolicy


class TotpStep(_Reply):
    """Type the code the user's authenticator app shows now (`code`)."""

    kind: Literal["totp"]


class RecoveryCodeStep(_Reply):
    """Type one of the user's recovery codes (`code`)."""

    kind: Literal["recovery_code"]


class ChooseStep(_Reply):
    """Choose how to prove who you are next: answer with `factor`, one of these kinds (the
    same for everyone on the site)."""

    kind: Literal["choose"]
    factors: list[str] = Field(
        description="Kinds of factor: questions, code, totp, recovery_code, passkey."
    )


class PasskeyStep(_Reply):
    """Ask the browser for a passkey with `options` (navigator.credentials.get, WebAuthn's
    PublicKeyCredentialRequestOptions as JSON: the same for everyone, an empty
    allowCredentials); answer with `credential`."""

    kind: Literal["passkey"]
    options: dict[str, Any]


Step = Annotated[
    QuestionStep | CodeStep | PasswordStep | ChooseStep | TotpStep | RecoveryCodeStep | PasskeyStep,
    Field(discriminator="kind"),
]


class FlowStep(_Reply):
    """The next step of a reset or an unlock."""

    flow: str = Field(description="The sealed flow token: send it with the next step.")
    step: Step


class EnrollSession(_Reply):
    """An enroll session whose password was proven (10 minutes)."""

    enroll: str = Field(description="The session token: send it with each enroll/factor.")
    has: list[str] = Field(description="The kinds of factor the user has.")
    needs: list[str] = Field(description="The kinds the policy needs the user to add.")
    offer: list[str] = Field(description="The kinds the site offers.")


class EnrollAction(BaseModel):
    """What the action answers: each factor's own fields (see docs/api.md)."""

    model_config = ConfigDict(extra="allow")


class Enrollment(_Reply):
    """Whether the user is enrolled; empty during maintenance."""

    is_enrolled: bool | None = Field(default=None, alias="isEnrolled", json_schema_extra=_optional)


class Health(_Reply):
    status: Literal["ok", "degraded"]
    servers: dict[str, bool] | None = Field(
        default=None,
        description="Each backend and whether it answers (admin networks only).",
        json_schema_extra=_optional,
    )


class Problem(_Reply):
    """An RFC 9457 problem with pwreset's stable code."""

    type: str = Field(description="urn:pwreset:problem:CODE")
    title: str
    status: int
    detail: str
    code: str = Field(description="The stable machine code.")
    message: str = Field(description="The id of the text the page shows (RES_*).")
    params: dict[str, str] = Field(description="Extra facts: field, reason, positions.")
