"""The log line formats of every command: text (the default), with the text of each message
made safe to print, or one JSON object per line (`--log-format json`) for a log collector.

A message may quote what a user typed or a record holds; a newline there would forge a log
line, an ESC or a bidi override would rewrite the terminal. The text format escapes the
message (pwreset.protocol.printable), a traceback after it keeps its own lines; the JSON
format escapes by being JSON (non-ASCII as \\u escapes, so nothing reaches a terminal raw).
Both name the request a line belongs to (pwreset.protocol.trace) when there is one.
"""

from __future__ import annotations

import copy
import json
import logging
from datetime import UTC, datetime
from typing import Literal

from pwreset.protocol.printable import escape
from pwreset.protocol.trace import current_trace

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LogFormat = Literal["text", "json"]
LOG_FORMATS: tuple[LogFormat, ...] = ("text", "json")


class EscapingFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(LOG_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        safe = copy.copy(record)
        safe.msg, safe.args = escape(record.getMessage()), None
        request_id = current_trace.get()
        if request_id:
            safe.msg = f"{safe.msg} [request_id={request_id}]"
        return super().format(safe)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, RFC 3339), level, logger, message, the
    request id while a request is served, and the traceback of an exception."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = current_trace.get()
        if request_id:
            line["request_id"] = request_id
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=True)


def log_handler(handler: logging.Handler, log_format: LogFormat = "text") -> logging.Handler:
    """`handler` writing pwreset's format."""
    handler.setFormatter(JsonFormatter() if log_format == "json" else EscapingFormatter())
    return handler
