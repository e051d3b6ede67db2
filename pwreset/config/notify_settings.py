"""E-mail delivery, verification-code mail and per-event alert settings."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

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


# Sent unless configured otherwise (security review 11): with e-mail delivery on, the user
# hears of every reset, unlock, lockout and enrollment of the account, at the directory's
# address first, so a takeover does not go unnoticed.
_NOT_YOU = {
    "en": "If this was not you, contact your IT service desk at once.",
    "de": "Wenn Sie das nicht waren, wenden Sie sich sofort an Ihren IT-Service.",
}
_STOCK_TEXTS: dict[str, dict[str, tuple[str, str]]] = {
    "enroll": {
        "en": (
            "Security questions set up for your account",
            "The security questions of [AD_USER] in [AD_DOMAIN] were set up on the password "
            "self-service page.",
        ),
        "de": (
            "Sicherheitsfragen für Ihr Konto eingerichtet",
            "Die Sicherheitsfragen von [AD_USER] in [AD_DOMAIN] wurden auf der Seite zur "
            "Kennwort-Selbstbedienung eingerichtet.",
        ),
    },
    "reset": {
        "en": (
            "Your password was reset",
            "The password of [AD_USER] in [AD_DOMAIN] was reset on the password self-service page.",
        ),
        "de": (
            "Ihr Kennwort wurde zurückgesetzt",
            "Das Kennwort von [AD_USER] in [AD_DOMAIN] wurde auf der Seite zur "
            "Kennwort-Selbstbedienung zurückgesetzt.",
        ),
    },
    "unlock": {
        "en": (
            "Your account was unlocked",
            "The account [AD_USER] in [AD_DOMAIN] was unlocked on the password self-service page.",
        ),
        "de": (
            "Ihr Konto wurde entsperrt",
            "Das Konto [AD_USER] in [AD_DOMAIN] wurde auf der Seite zur "
            "Kennwort-Selbstbedienung entsperrt.",
        ),
    },
    "lockout": {
        "en": (
            "Password self-service locked for your account",
            "Too many wrong answers or codes were given for [AD_USER] in [AD_DOMAIN], so "
            "password self-service is locked for this account for now.",
        ),
        "de": (
            "Kennwort-Selbstbedienung für Ihr Konto gesperrt",
            "Für [AD_USER] in [AD_DOMAIN] wurden zu viele falsche Antworten oder Codes "
            "eingegeben, daher ist die Kennwort-Selbstbedienung für dieses Konto vorerst "
            "gesperrt.",
        ),
    },
}
STOCK_ALERT_EVENTS = tuple(_STOCK_TEXTS)


def _stock_text(event: str) -> dict[str, dict[str, str]]:
    return {
        lang: {"subject": subject, "body": f"{body}\n\n{_NOT_YOU[lang]}"}
        for lang, (subject, body) in _STOCK_TEXTS[event].items()
    }


def with_stock_alerts(value: Any) -> Any:
    """The `[alerts]` tables as configured, plus the stock alert of every stock event not
    configured; a configured stock event without texts gets the stock texts, so
    `[alerts.unlock] enabled = false` alone switches one off."""
    if not isinstance(value, Mapping):
        return value  # the schema reports the wrong type
    tables = dict(value)
    for event in STOCK_ALERT_EVENTS:
        table = tables.get(event)
        if table is None:
            tables[event] = {"text": _stock_text(event)}
        elif isinstance(table, Mapping) and "text" not in table:
            tables[event] = {**table, "text": _stock_text(event)}
    return tables


def stock_alerts() -> dict[str, Alert]:
    """The alerts of a configuration without `[alerts]` tables."""
    return {event: Alert(text=_stock_text(event)) for event in STOCK_ALERT_EVENTS}
