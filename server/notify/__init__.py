"""Notifications: verification codes by e-mail and SMS, and e-mail alerts after events.

The flows call `Notifier`; `Mailer` delivers (SMTP or a pickup folder). Nothing here ever
logs or raises with a code, a password or a message's text.
"""

from __future__ import annotations

from .errors import NotifyError
from .mailer import Mailer
from .masking import mask_email, mask_phone
from .notifier import Notifier
from .recipients import Recipient, expand_recipients

__all__ = [
    "Mailer",
    "Notifier",
    "NotifyError",
    "Recipient",
    "expand_recipients",
    "mask_email",
    "mask_phone",
]
