"""What the flows call: send a verification code by e-mail or SMS, send an alert after an
event. Codes raise `NotifyError` (the flow decides: fallback or "could not send"); alerts
never raise, as a mail failure must not turn a finished reset into an error. Every failure
is logged here once, with its reason, so callers only need to audit it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from pwreset.config.drive_settings import EnrollmentDriveSettings
from pwreset.config.expiry_settings import ExpiryNoticeSettings, NoticeChannel
from pwreset.config.flow_settings import VerificationSettings
from pwreset.config.notify_settings import (
    ALERT_EVENTS,
    Alert,
    AlertEvent,
    CodeMail,
    EmailSettings,
    MailText,
)
from pwreset.config.schema import Config

from .errors import NotifyError
from .mailer import Mailer
from .messages import compose, fill, pick_text
from .recipients import Recipient, expand_recipients
from .sms import run_sms_command, valid_phone

log = logging.getLogger("pwreset.server.notify")


def _user_values(to: Recipient) -> dict[str, str]:
    """The body and subject macros every mail gets."""
    return {"[AD_USER]": to.username, "[AD_DOMAIN]": to.domain}


class Notifier:
    """Notifications with the `[email]`, `[code_mail]`, `[alerts.*]` and `[verification]`
    settings. Blocking (SMTP, a child process): call it from the flows' worker threads."""

    def __init__(
        self,
        *,
        email: EmailSettings,
        code_mail: CodeMail,
        alerts: Mapping[str, Alert] | Mapping[AlertEvent, Alert],
        verification: VerificationSettings,
        notices: ExpiryNoticeSettings | None = None,
        reminders: EnrollmentDriveSettings | None = None,
        resolve: Callable[[Path], Path] = lambda p: p,
    ) -> None:
        unknown = set(alerts) - set(ALERT_EVENTS)
        if unknown:
            raise NotifyError(
                f"unknown alert event(s) {sorted(unknown)}; use {', '.join(ALERT_EVENTS)}",
                code="notify_config",
            )
        self.email = email
        self.code_mail = code_mail
        self.alerts: dict[str, Alert] = {str(event): alert for event, alert in alerts.items()}
        self.verification = verification
        self.notices = notices or ExpiryNoticeSettings()
        self.reminders = reminders or EnrollmentDriveSettings()
        self._resolve = resolve
        self.mailer = Mailer(email, resolve)

    @classmethod
    def from_config(cls, config: Config) -> Notifier:
        """The notifier of an instance's `pwreset.toml` (raises NotifyError)."""
        return cls(
            email=config.email,
            code_mail=config.code_mail,
            alerts=config.alerts,
            verification=config.verification,
            notices=config.expiry_notices,
            reminders=config.enrollment_drive,
            resolve=config.path,
        )

    # -- verification codes ------------------------------------------------------------

    def send_code_email(self, addresses: Sequence[str], code: str, to: Recipient) -> None:
        """Mail `code` to exactly `addresses` (the flow chose directory, enrolled or both),
        in the user's language, else English. Raises NotifyError if it was not sent."""
        wanted = list(dict.fromkeys(a.strip() for a in addresses if a.strip()))
        try:
            if not wanted:
                raise NotifyError(
                    "no e-mail address to send the code to", code="notify_no_recipient"
                )
            if not self.mailer.enabled:
                raise NotifyError("e-mail delivery is off (email.delivery)", code="notify_off")
            message = compose(
                sender=self.email.from_address,
                to=wanted,
                text=pick_text(self.code_mail.text, to.language),
                values={**_user_values(to), "[CODE]": code},
            )
            self.mailer.send(message)
        except NotifyError as exc:
            log.warning(
                "verification code e-mail for %s@%s not sent: %s", to.username, to.domain, exc
            )
            raise
        log.info(
            "verification code e-mailed for %s@%s to %d address(es)",
            to.username,
            to.domain,
            len(wanted),
        )

    def send_code_sms(self, phone: str, code: str, to: Recipient) -> None:
        """Run verification.sms_command for `phone`. Raises NotifyError unless it exits 0."""
        try:
            text = fill(pick_text(self.verification.sms_text, to.language), {"[CODE]": code})
            self._send_sms(phone, to, text, code=code)
        except NotifyError as exc:
            log.warning("verification code SMS for %s@%s not sent: %s", to.username, to.domain, exc)
            raise
        log.info("verification code sent by SMS for %s@%s", to.username, to.domain)

    def _send_sms(self, phone: str, to: Recipient, text: str, *, code: str = "") -> None:
        """Run verification.sms_command with `text` as [TEXT]; NotifyError unless it exits 0."""
        if not self.verification.sms_command:
            raise NotifyError("verification.sms_command is not set", code="notify_config")
        if not valid_phone(phone):
            raise NotifyError("the phone number is not a valid number", code="notify_bad_phone")
        run_sms_command(
            self.verification.sms_command,
            {
                "CODE": code,
                "PHONE": phone.strip(),
                "USERNAME": to.username,
                "DOMAIN": to.domain,
                "LANG": to.language,
                "TEXT": text,
            },
            timeout=self.verification.sms_timeout,
            resolve=self._resolve,
            pass_env=self.verification.sms_env,
            hidden_env=[self.email.password_env] if self.email.password_env else [],
        )

    # -- password expiry notices ---------------------------------------------------------

    def expiry_notice(
        self, channel: NoticeChannel, to: Recipient, values: Mapping[str, str]
    ) -> int:
        """Send the expiry notice by `channel` in the user's language, with `values` (the
        notice's macros) filled in; how many addresses or phones it went to. Raises
        NotifyError when it was not sent."""
        return self._user_message(self.notices, channel, to, values)

    def enrollment_reminder(
        self, channel: NoticeChannel, to: Recipient, values: Mapping[str, str]
    ) -> int:
        """Send an enrollment reminder, like `expiry_notice`."""
        return self._user_message(self.reminders, channel, to, values)

    def _user_message(
        self,
        texts: ExpiryNoticeSettings | EnrollmentDriveSettings,
        channel: NoticeChannel,
        to: Recipient,
        values: Mapping[str, str],
    ) -> int:
        filled = {**_user_values(to), **values}
        if channel == "sms":
            text = fill(pick_text(texts.sms_text, to.language), filled)
            self._send_sms(to.phone, to, text)
            return 1
        recipients = expand_recipients(texts.to, to)
        if not recipients:
            raise NotifyError("the user has no e-mail address", code="notify_no_recipient")
        if not self.mailer.enabled:
            raise NotifyError("e-mail delivery is off (email.delivery)", code="notify_off")
        self.mailer.send(
            compose(
                sender=self.email.from_address,
                to=recipients,
                text=pick_text(texts.text, to.language),
                values=filled,
            )
        )
        return len(recipients)

    # -- reports to admins --------------------------------------------------------------

    def report_mail(
        self, to: Sequence[str], subject: str, body: str, files: Sequence[tuple[str, bytes]]
    ) -> None:
        """Mail `files` (name, content: .csv or .html) to the admins at `to`. Raises
        NotifyError when it was not handed over."""
        if not self.mailer.enabled:
            raise NotifyError("e-mail delivery is off (email.delivery)", code="notify_off")
        message = compose(
            sender=self.email.from_address,
            to=to,
            text=MailText(subject=subject, body=body),
            values={},
        )
        for name, data in files:
            subtype = "html" if name.endswith(".html") else "csv"
            # As text in UTF-8 (the CSV's byte-order mark, which Excel needs, stays).
            message.add_attachment(
                data.decode("utf-8"), subtype=subtype, charset="utf-8", filename=name
            )
        self.mailer.send(message)

    # -- alerts ------------------------------------------------------------------------

    def alert(
        self, event: str, success: bool, to: Recipient, values: Mapping[str, str] | None = None
    ) -> bool:
        """Send the alert configured for `event` if it applies to this outcome; `values` are
        the event's own macros (the recovery codes left) beside the user's.

        True when it was handed to the SMTP server or pickup folder; False when no alert is
        configured, enabled or meant for this outcome, delivery is off, it has no
        recipients, or sending failed (logged with the reason). Never raises.
        """
        try:
            return self._alert(event, success, to, values or {})
        except NotifyError as exc:
            log.warning("%s alert for %s@%s not sent: %s", event, to.username, to.domain, exc)
        except Exception as exc:
            # A bug must not fail the user's finished reset either; the type says enough to
            # find it, and the exception text is not logged as it could quote the message.
            log.error(
                "%s alert for %s@%s not sent: unexpected %s",
                event,
                to.username,
                to.domain,
                exc.__class__.__name__,
            )
        return False

    def alert_applies(self, event: str, success: bool) -> bool:
        """Whether an alert is configured, enabled and meant for this outcome, with
        delivery on: when it then is not sent, that is a failure worth recording."""
        alert = self.alerts.get(event)
        if alert is None or not alert.enabled or not self.mailer.enabled:
            return False
        return alert.on == "both" or alert.on == ("success" if success else "failure")

    def _alert(self, event: str, success: bool, to: Recipient, values: Mapping[str, str]) -> bool:
        if event not in ALERT_EVENTS:
            raise NotifyError(f"unknown event {event!r}", code="notify_config")
        if not self.alert_applies(event, success):
            log.debug("%s alert not configured for this outcome, or delivery is off", event)
            return False
        alert = self.alerts[event]
        recipients = expand_recipients(alert.to, to)
        seen = {address.casefold() for address in recipients}
        bcc = [a for a in expand_recipients(alert.bcc, to) if a.casefold() not in seen]
        if not recipients and not bcc:
            log.info(
                "%s alert for %s@%s not sent: no recipient (the user has no address)",
                event,
                to.username,
                to.domain,
            )
            return False
        message = compose(
            sender=self.email.from_address,
            to=recipients,
            bcc=bcc,
            text=pick_text(alert.text, to.language),
            values={**values, **_user_values(to)},
        )
        self.mailer.send(message)
        log.info(
            "%s alert for %s@%s sent to %d recipient(s)",
            event,
            to.username,
            to.domain,
            len(recipients) + len(bcc),
        )
        return True
