"""The notify package's one exception: a code, a mail or an SMS could not be sent.

Its message is written to be logged and audited as it is, so it says why (server refused,
timeout, exit status) and never what: no code, no password, no message text.
"""

from __future__ import annotations


class NotifyError(Exception):
    """A notification could not be sent; `code` is stable for scripts, tests and audit."""

    code = "notify_failed"

    def __init__(self, reason: str, *, code: str | None = None) -> None:
        super().__init__(reason)
        if code is not None:
            self.code = code
