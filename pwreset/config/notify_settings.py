"""E-mail delivery, verification-code mail and per-event alert settings."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ALERT_EVENTS = ("enroll", "reset", "unlock", "change", "lockout")
_FROM = re.compile(r'^(".*"\s*)?<?[^@\s<>]+@[^@\s<>]+>?$')


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MailText(_Table):
    """Subject and body in one language. A body containing <html> is sent as HTML."""

    subject: str = Field(min_length=1, max_length=998)
    body: str = Field(min_length=1)


class EmailSettings(_Table):
    delivery: Literal["smtp", "pickup", "off"] = "off"
    from_address: str = '"Password self-service" <pwreset@localhost>'
    smtp_host: str = "localhost"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    security: Literal["none", "starttls", "tls"] = "starttls"
    username: str | None = None
    password_env: str | None = None
    password_file: Path | None = None
    ca_file: Path | None = None
    timeout: float = Field(default=15.0, gt=0, le=120)
    # One RFC 5322 .eml file per message, for an MTA that watches the folder.
    pickup_dir: Path | None = None

    @field_validator("from_address")
    @classmethod
    def _from(cls, value: str) -> str:
        if not _FROM.match(value.strip()):
            raise ValueError('use "Display Name" <mailbox@domain> or mailbox@domain')
        return value

    @model_validator(mode="after")
    def _delivery(self) -> EmailSettings:
        if self.delivery == "pickup" and self.pickup_dir is None:
            raise ValueError('delivery = "pickup" needs pickup_dir')
        if self.username and not (self.password_env or self.password_file):
            raise ValueError("username needs password_env or password_file")
        return self


class CodeMail(_Table):
    """The verification-code message: [CODE] must appear in the subject or the body."""

    text: dict[str, MailText] = Field(
        default_factory=lambda: {
            "en": MailText(
                subject="Your verification code",
                body="Your verification code is [CODE].\n\nIf you did not ask for it, "
                "tell your IT service desk.",
            ),
            "de": MailText(
                subject="Ihr Bestätigungscode",
                body="Ihr Bestätigungscode lautet [CODE].\n\nWenn Sie ihn nicht angefordert "
                "haben, melden Sie sich bitte beim IT-Service.",
            ),
        }
    )

    @field_validator("text")
    @classmethod
    def _has_code(cls, text: dict[str, MailText]) -> dict[str, MailText]:
        if "en" not in text:
            raise ValueError("an English text (en) is required: it is the fallback")
        for lang, mail in text.items():
            if "[CODE]" not in mail.subject + mail.body:
                raise ValueError(f"{lang}: [CODE] must appear in the subject or the body")
        return text


class Alert(_Table):
    """An e-mail sent after an event. To and Bcc are ';'-separated and may use
    [AD_EMAIL], [APR_EMAIL], [AD_OR_APR_EMAIL], [APR_OR_AD_EMAIL] (or NPR_ spellings)."""

    enabled: bool = True
    on: Literal["success", "failure", "both"] = "success"
    to: str = "[AD_OR_APR_EMAIL]"
    bcc: str = ""
    text: dict[str, MailText]

    @field_validator("text")
    @classmethod
    def _english(cls, text: dict[str, MailText]) -> dict[str, MailText]:
        if "en" not in text:
            raise ValueError("an English text (en) is required: it is the fallback")
        return text


class NotifySettings(_Table):
    email: EmailSettings = EmailSettings()
    code_mail: CodeMail = CodeMail()
    alerts: dict[Literal["enroll", "reset", "unlock", "change", "lockout"], Alert] = {}
