"""Delivering a composed message: by SMTP (plain, STARTTLS or implicit TLS, optional AUTH)
or as an .eml file in a pickup folder that a local MTA watches.

Every failure becomes a `NotifyError` saying why (server, port, reply code), never what.
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
import tempfile
import time
import uuid
from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from pathlib import Path

from pwreset.config.notify_settings import EmailSettings

from .errors import NotifyError

log = logging.getLogger("pwreset.server.notify")

# Pickup files are readable by the folder's group, so an MTA running as another user in
# that group can read them; code mails must not be world-readable.
PICKUP_FILE_MODE = 0o640


class Mailer:
    """Sends messages with the `[email]` settings. Cheap to build; one connection per send,
    as notifications are rare and a kept-open connection would only time out between them."""

    def __init__(
        self, settings: EmailSettings, resolve: Callable[[Path], Path] = lambda p: p
    ) -> None:
        self.settings = settings
        self._resolve = resolve
        if settings.username and settings.delivery == "smtp" and settings.security == "none":
            # AUTH over a plain connection would send the password in clear text.
            raise NotifyError(
                'email.username needs email.security = "starttls" or "tls"',
                code="notify_config",
            )

    @property
    def enabled(self) -> bool:
        return self.settings.delivery != "off"

    def send(self, message: EmailMessage) -> None:
        """Deliver `message` to its To, Cc and Bcc recipients; raise NotifyError if it
        could not be handed over."""
        if self.settings.delivery == "smtp":
            self._send_smtp(message)
        elif self.settings.delivery == "pickup":
            self._write_pickup(message)
        else:
            raise NotifyError("e-mail delivery is off", code="notify_off")

    # -- SMTP --------------------------------------------------------------------------

    def _tls_context(self) -> ssl.SSLContext:
        """Certificate and host name are always checked: against ca_file when given (a
        private CA), else against the system's trusted CAs."""
        ca_file = self.settings.ca_file
        try:
            context = ssl.create_default_context(
                cafile=str(self._resolve(ca_file)) if ca_file else None
            )
        except (OSError, ssl.SSLError) as exc:
            raise NotifyError(
                f"cannot read email.ca_file {ca_file}: {exc.__class__.__name__}",
                code="notify_config",
            ) from exc
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context

    def _password(self) -> str:
        """Read at each send, so a rotated password file is picked up without a restart."""
        settings = self.settings
        if settings.password_env:
            value = os.environ.get(settings.password_env)
            if not value:
                raise NotifyError(
                    f"environment variable {settings.password_env} (email.password_env) is not set",
                    code="notify_config",
                )
            return value
        if settings.password_file:
            path = self._resolve(settings.password_file)
            try:
                return path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise NotifyError(
                    f"cannot read email.password_file {path}: {exc.strerror or exc}",
                    code="notify_config",
                ) from exc
        raise NotifyError("email.username needs a password", code="notify_config")

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.security == "tls":
            return smtplib.SMTP_SSL(
                s.smtp_host, s.smtp_port, timeout=s.timeout, context=self._tls_context()
            )
        smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.timeout)
        if s.security == "starttls":
            try:
                smtp.ehlo()
                if not smtp.has_extn("starttls"):
                    # Never fall back to clear text: that is what an attacker would force.
                    raise NotifyError(
                        f"SMTP {s.smtp_host}:{s.smtp_port}: the server does not offer "
                        'STARTTLS (email.security = "starttls")',
                        code="notify_smtp",
                    )
                smtp.starttls(context=self._tls_context())
                smtp.ehlo()
            except BaseException:
                smtp.close()
                raise
        return smtp

    def _send_smtp(self, message: EmailMessage) -> None:
        s = self.settings
        where = f"SMTP {s.smtp_host}:{s.smtp_port}"
        try:
            with self._connect() as smtp:
                if s.username:
                    smtp.login(s.username, self._password())
                refused = smtp.send_message(message)
        except NotifyError:
            raise
        except smtplib.SMTPAuthenticationError as exc:
            raise NotifyError(
                f"{where}: authentication as {s.username} failed ({exc.smtp_code})",
                code="notify_smtp_auth",
            ) from exc
        except smtplib.SMTPRecipientsRefused as exc:
            raise NotifyError(
                f"{where}: the server refused all {len(exc.recipients)} recipient(s)",
                code="notify_smtp",
            ) from exc
        except smtplib.SMTPResponseException as exc:
            raise NotifyError(
                f"{where}: {exc.__class__.__name__} {exc.smtp_code} {_reply(exc.smtp_error)}",
                code="notify_smtp",
            ) from exc
        except ssl.SSLCertVerificationError as exc:
            raise NotifyError(
                f"{where}: the server certificate is not trusted ({exc.verify_message}); "
                "check email.ca_file and email.smtp_host",
                code="notify_smtp_tls",
            ) from exc
        except ssl.SSLError as exc:
            raise NotifyError(
                f"{where}: TLS failed ({exc.reason})", code="notify_smtp_tls"
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise NotifyError(
                f"{where}: {exc.__class__.__name__}: {reason or 'no reason given'}",
                code="notify_smtp",
            ) from exc
        if refused:
            # Some recipients took it: the message was sent; say how many did not.
            log.warning("%s: the server refused %d of the recipients", where, len(refused))

    # -- pickup folder -----------------------------------------------------------------

    def _write_pickup(self, message: EmailMessage) -> None:
        """One RFC 5322 file (CRLF line ends) per message. Written under a dot-name with a
        .tmp suffix, flushed to disk, then renamed: the MTA never picks up half a file."""
        assert self.settings.pickup_dir is not None  # the schema requires it for "pickup"
        folder = self._resolve(self.settings.pickup_dir)
        if not folder.is_dir():
            raise NotifyError(f"email.pickup_dir {folder} is not a folder", code="notify_pickup")
        data = message.as_bytes(policy=policy.SMTP)
        name = f"{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex}.eml"
        try:
            fd, temp = tempfile.mkstemp(dir=folder, prefix=".pwreset-", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                Path(temp).chmod(PICKUP_FILE_MODE)
                Path(temp).replace(folder / name)
            except BaseException:
                Path(temp).unlink(missing_ok=True)
                raise
            _fsync_dir(folder)
        except OSError as exc:
            raise NotifyError(
                f"cannot write to email.pickup_dir {folder}: {exc.strerror or exc}",
                code="notify_pickup",
            ) from exc


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX); Windows has no directory handles to sync."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _reply(raw: bytes | str) -> str:
    """The server's reply text, shortened: it explains a refusal, and is the server's own
    words, not ours (it never holds the message body)."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    text = " ".join(text.split())
    return text[:200]
