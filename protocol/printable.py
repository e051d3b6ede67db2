"""Which characters may not be shown raw in a log line or on a terminal, and their escapes.

Refused in names (relay and server) and escaped wherever stored text is printed (log
format, console grids). The unsafe characters are the Unicode categories that can forge a
line or move a terminal: controls (Cc: C0 with CR, LF and ESC, DEL, C1 with CSI and NEL),
format characters (Cf: bidi overrides and isolates, zero-width characters, the BOM, tag
characters), line and paragraph separators (Zl, Zp: U+2028, U+2029) and lone surrogates (Cs).
"""

from __future__ import annotations

import unicodedata

_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def is_unsafe(char: str) -> bool:
    return unicodedata.category(char) in _UNSAFE_CATEGORIES


def first_unsafe(text: str) -> str | None:
    """The first unsafe character of `text`, or None."""
    if text.isascii() and text.isprintable():
        return None  # the usual case, without a look-up per character
    return next((char for char in text if is_unsafe(char)), None)


def escape(text: str) -> str:
    """`text` with each unsafe character written as a Python escape (`\\x1b`, `\\u202e`);
    everything else, backslashes included, is kept as it is."""
    if first_unsafe(text) is None:
        return text
    return "".join(_escape(char) if is_unsafe(char) else char for char in text)


def describe(char: str) -> str:
    """How an error message names a refused character: `U+001B`."""
    return f"U+{ord(char):04X}"


def _escape(char: str) -> str:
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"
