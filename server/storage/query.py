"""The Data Console's grid logic: columns, wildcard filters, date ranges and sorting.

Rows are plain dicts. The admin's filters become one TinyDB `Query`, the store's query
language. A filter matches a column's displayed text, so `*` and `?` work the same on every
column (`--where locked_out=yes`, `--where last_reset='2024-03-*'`); filters on different
columns are ANDed, as in the original's filter row.
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from tinydb import Query
from tinydb.queries import QueryInstance

from pwreset.server.storage.audit import AuditEvent
from pwreset.server.storage.errors import StorageError


class FilterError(StorageError):
    """A filter, range or sort the admin typed does not make sense; says which and why."""

    code = "bad_filter"


@dataclass(frozen=True)
class Column:
    name: str
    title: str
    kind: Literal["text", "time", "number", "bool", "list"] = "text"
    shown: bool = True  # hidden columns exist for filters, --columns and exports


USER_COLUMNS = (
    Column("username", "User"),
    Column("domain", "Domain"),
    Column("email", "E-mail"),
    Column("last_enroll", "Last Enroll", "time"),
    Column("last_reset", "Last Reset", "time"),
    Column("last_unlock", "Last Unlock", "time"),
    Column("last_change", "Last Change", "time"),
    # The kinds of recovery factor the user has (questions, code, totp, recovery_code, passkey).
    Column("factors", "Factors", "list"),
    # pwreset's own lockout as it stands when the console reads it (console/users.py).
    Column("locked_until", "Locked Until"),
    Column("enrolled", "Enrolled", "bool", shown=False),
    Column("auto_enrolled", "Auto-enrolled", "bool", shown=False),
    Column("language", "Language", shown=False),
    Column("wrong_answers", "Wrong Answers", "number", shown=False),
    Column("locked_out", "Locked Out", "bool", shown=False),
    Column("last_failure", "Last Wrong Answer", "time", shown=False),
    Column("missing_since", "Missing Since", "time", shown=False),
    Column("key_id", "Data Key", shown=False),
)

AUDIT_COLUMNS = (
    Column("type", "Type"),
    Column("date", "Date"),
    Column("clock", "Time"),
    Column("source", "Source"),
    Column("user", "User"),
    Column("domain", "Domain"),
    Column("event", "Event"),
    Column("ip", "Source IP"),
    Column("web_user", "Source User"),
    Column("time", "Timestamp", "time", shown=False),
)


def column(columns: Sequence[Column], name: str, option: str) -> Column:
    for candidate in columns:
        if candidate.name == name:
            return candidate
    known = ", ".join(c.name for c in columns)
    raise FilterError(f"{option}: unknown column {name!r}; the columns are: {known}")


def display(value: Any, kind: str) -> str:
    """A value as the grid, the filters and the text exports show it (local time)."""
    if value is None or value == "":
        return ""
    if kind == "time":
        return datetime.fromtimestamp(float(value)).strftime("%Y-%m-%d %H:%M:%S")
    if kind == "bool":
        return "yes" if value else "no"
    if kind == "list":
        return ", ".join(str(item) for item in value)
    return str(value)


def wildcard(pattern: str) -> re.Pattern[str]:
    """`*` any run of characters, `?` exactly one; everything else literal; whole value,
    case-insensitive."""
    parts = (".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class TimeRange:
    start: float | None = None  # inclusive
    end: float | None = None  # exclusive

    def contains(self, moment: float | None) -> bool:
        if moment is None:
            return False
        return (self.start is None or moment >= self.start) and (
            self.end is None or moment < self.end
        )


def _midnight(day: date) -> float:
    return datetime(day.year, day.month, day.day).timestamp()  # local time, like the admin


def _parse_day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise FilterError(f"{option}: {text!r} is not a date (YYYY-MM-DD)") from None


def date_range(text: str, *, today: date | None = None, option: str = "--date") -> TimeRange:
    """today | yesterday | last7 | YYYY-MM-DD | YYYY-MM-DD..YYYY-MM-DD (inclusive days)."""
    today = today or date.today()
    word = text.strip().lower()
    if word == "today":
        first = last = today
    elif word == "yesterday":
        first = last = today - timedelta(days=1)
    elif word in ("last7", "last-7-days", "week"):
        first, last = today - timedelta(days=6), today
    elif ".." in word:
        left, _, right = word.partition("..")
        start = _parse_day(left, option) if left else None
        stop = _parse_day(right, option) if right else None
        if start and stop and start > stop:
            raise FilterError(f"{option}: {text!r} ends before it starts")
        return TimeRange(
            _midnight(start) if start else None,
            _midnight(stop + timedelta(days=1)) if stop else None,
        )
    else:
        try:
            first = last = date.fromisoformat(word)
        except ValueError:
            raise FilterError(
                f"{option}: {text!r} is not today, yesterday, last7, YYYY-MM-DD or "
                "YYYY-MM-DD..YYYY-MM-DD"
            ) from None
    return TimeRange(_midnight(first), _midnight(last + timedelta(days=1)))


def moment(text: str, option: str, *, end_of_day: bool) -> float:
    """`--from`/`--to`: YYYY-MM-DD (a whole day) or YYYY-MM-DDTHH:MM[:SS], local time."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return _midnight(day + timedelta(days=1)) if end_of_day else _midnight(day)
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise FilterError(
            f"{option}: {text!r} is not YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS]"
        ) from None


def _shown_as(value: Any, pattern: re.Pattern[str], kind: str) -> bool:
    return pattern.fullmatch(display(value, kind)) is not None


def _within(value: Any, span: TimeRange) -> bool:
    return span.contains(value)


@dataclass
class RowFilter:
    """Every condition the admin gave; a row must meet all of them (`query`)."""

    columns: Sequence[Column]
    patterns: dict[str, re.Pattern[str]] = field(default_factory=dict)
    ranges: dict[str, TimeRange] = field(default_factory=dict)
    _query: QueryInstance | None = field(default=None, init=False, repr=False)

    def where(self, name: str, pattern: str, option: str = "--where") -> None:
        col = column(self.columns, name, option)
        if col.name in self.patterns:
            raise FilterError(f"{option}: column {name!r} is filtered twice")
        self.patterns[col.name] = wildcard(pattern)
        self._query = None

    def within(self, name: str, span: TimeRange, option: str) -> None:
        col = column(self.columns, name, option)
        if col.kind != "time":
            raise FilterError(f"{option}: column {name!r} is not a date column")
        old = self.ranges.get(col.name)
        if old is not None:  # --date and --from/--to together: both must hold
            span = TimeRange(
                max((t for t in (old.start, span.start) if t is not None), default=None),
                min((t for t in (old.end, span.end) if t is not None), default=None),
            )
        self.ranges[col.name] = span
        self._query = None

    @property
    def query(self) -> QueryInstance:
        """The conditions as one TinyDB query, for `Table.search` or a row at hand."""
        if self._query is None:
            row = Query()
            kinds = {c.name: c.kind for c in self.columns}
            conditions = [row[name].test(_within, span) for name, span in self.ranges.items()]
            conditions += [
                row[name].test(_shown_as, pattern, kinds[name])
                for name, pattern in self.patterns.items()
            ]
            self._query = functools.reduce(operator.and_, conditions, row.noop())
        return self._query

    def matches(self, row: dict[str, Any]) -> bool:
        return bool(self.query(row))

    def __bool__(self) -> bool:
        return bool(self.patterns or self.ranges)


def parse_where(text: str) -> tuple[str, str]:
    name, sep, pattern = text.partition("=")
    if not sep or not name.strip():
        raise FilterError(f"--where: {text!r} is not COLUMN=PATTERN")
    return name.strip(), pattern


def sort_rows(
    rows: list[dict[str, Any]], columns: Sequence[Column], keys: Iterable[str]
) -> list[dict[str, Any]]:
    """Stable sort by the keys, first key first; empty values always last."""
    for key in reversed(list(keys)):
        # `-name` (written `--sort=-name`, or argparse takes it for an option) or `name:desc`
        name, _, order = key.partition(":")
        if order.lower() not in ("", "asc", "desc"):
            raise FilterError(f"--sort: {key!r}: the order must be asc or desc")
        descending = name.startswith("-") or order.lower() == "desc"
        col = column(columns, name.lstrip("-+"), "--sort")
        present = [r for r in rows if r.get(col.name) not in (None, "")]
        empty = [r for r in rows if r.get(col.name) in (None, "")]

        def sort_key(row: dict[str, Any], col: Column = col) -> Any:
            value = row[col.name]
            return value.casefold() if isinstance(value, str) else value

        rows = sorted(present, key=sort_key, reverse=descending) + empty
    return rows


def audit_row(event: AuditEvent) -> dict[str, Any]:
    """An audit event as a grid row: Date and Time shown apart (local time), as in the
    original's Audit Log; `time` keeps the instant for ranges and sorting."""
    row: dict[str, Any] = asdict(event)
    moment = datetime.fromtimestamp(event.time)
    row["date"] = moment.strftime("%Y-%m-%d")
    row["clock"] = moment.strftime("%H:%M:%S")
    return row
