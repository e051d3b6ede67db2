"""Rows stored before names were checked may hold control characters: the console grids and
the log show them escaped, never raw (security review, low: control characters)."""

from __future__ import annotations

import io
import logging

import pytest

from pwreset.cli.log_format import log_handler
from pwreset.server.storage import AuditEvent, UserRecord

from support.console_instance import Instance

# A forged second line, a screen-clearing ESC sequence, a C1 CSI and a bidi override.
FORGED = "mallory\nFORGED INFO pwreset.flows: reset done: user=admin"
NAMES = [FORGED, "eve\x1b[2J\x1b[31m", "csi\x9b31m", "abc\u202egpj.exe"]
RAW = ("\nFORGED", "\x1b", "\x9b", "\u202e")


@pytest.fixture
def stored(instance: Instance) -> Instance:
    with instance.open() as db:
        for name in NAMES:
            db.users.save(UserRecord("LAB", name, email="x@lab.example", last_enroll=1.0))
            db.audit.append(AuditEvent("failure", "reset", name, "LAB\x1b]0;owned\x07", "x"))
    return instance


def _assert_safe(out: str) -> None:
    for raw in RAW:
        assert raw not in out
    assert "\\x1b[2J" in out or "\\x9b" in out or "\\u202e" in out


@pytest.mark.parametrize(
    "argv",
    [
        ("users", "list"),
        ("users", "show", "eve\x1b[2J\x1b[31m"),
        ("users", "show", "abc\u202egpj.exe"),
        ("audit", "list"),
    ],
)
def test_console_commands_escape_stored_controls(stored, capsys, argv):
    """security review, low: escape on output for rows already stored."""
    assert stored.run(*argv) == 0
    out = capsys.readouterr().out
    _assert_safe(out)


def test_the_user_grid_shows_each_name_on_its_own_line(stored, capsys):
    assert stored.run("users", "list", "--domain", "LAB", "--user", "mallory*") == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4  # header, rule, the one row, the count
    assert lines[2].startswith("mallory\\x0aFORGED")


def test_the_log_format_escapes_what_a_message_quotes():
    """security review, low: a quoted name can neither forge a log line nor reach the
    terminal raw; a traceback keeps its lines."""
    stream = io.StringIO()
    logger = logging.getLogger("pwreset.test.safe_output")
    logger.addHandler(log_handler(logging.StreamHandler(stream)))
    logger.propagate = False
    try:
        for name in NAMES:
            logger.warning("change failed: user=%s domain=%s", name, "LAB")
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("operation %s failed", "x\x1b[2J")
    finally:
        logger.handlers.clear()
    text = stream.getvalue()
    for raw in RAW:
        assert raw not in text
    lines = text.splitlines()
    assert [line.split(" ", 3)[2] for line in lines[:5]] == ["WARNING"] * 4 + ["ERROR"]
    assert "user=mallory\\x0aFORGED" in lines[0]
    assert "x\\x1b[2J failed" in lines[4] and "Traceback" in lines[5]
