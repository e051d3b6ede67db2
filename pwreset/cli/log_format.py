"""The log line format of every command, with the text of each message made safe to print.

A message may quote what a user typed or a record holds; a newline there would forge a log
line, an ESC or a bidi override would rewrite the terminal. The message is escaped
(pwreset.protocol.printable); a traceback after it keeps its own lines.
"""

from __future__ import annotations

import copy
import logging

from pwreset.protocol.printable import escape

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class EscapingFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(LOG_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        safe = copy.copy(record)
        safe.msg, safe.args = escape(record.getMessage()), None
        return super().format(safe)


def log_handler(handler: logging.Handler) -> logging.Handler:
    """`handler` writing pwreset's format."""
    handler.setFormatter(EscapingFormatter())
    return handler
