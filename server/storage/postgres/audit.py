"""The audit log in PostgreSQL: one row per event, one column per field, so reports can be
written in SQL. Retention deletes rows older than the kept days, by the event's time."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Iterator

from pwreset.server.storage.audit import AuditEvent
from pwreset.server.storage.postgres.connections import Connections
from pwreset.server.storage.postgres.schema import AUDIT

_FIELDS = [f.name for f in dataclasses.fields(AuditEvent)]
COLUMNS = ", ".join(f'"{name}"' for name in _FIELDS)
_INSERT = f"INSERT INTO {AUDIT} ({COLUMNS}) VALUES ({', '.join(['%s'] * len(_FIELDS))})"
# Rows read per round trip by `query`.
_BATCH = 2000
_DAY = "to_char(to_timestamp(\"time\") AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


class PostgresAudit:
    """`store.AuditTrail` on PostgreSQL; `append` is durable when it returns."""

    def __init__(
        self,
        connections: Connections,
        *,
        retention_days: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = connections
        self.retention_days = retention_days
        self._clock = clock

    def append(self, event: AuditEvent) -> None:
        self.append_many([event])

    def append_many(self, events: Iterable[AuditEvent]) -> int:
        """Append `events` in one transaction; how many."""
        rows = [dataclasses.astuple(event) for event in events]
        with self._db.connection() as conn, conn.transaction(), conn.cursor() as cursor:
            cursor.executemany(_INSERT, rows)
        return len(rows)

    def query(
        self, *, since: float | None = None, until: float | None = None
    ) -> Iterator[AuditEvent]:
        """Events with since <= time < until, oldest first, read in batches (the log may be
        far larger than memory), each batch after the last row of the one before."""
        low = since if since is not None else float("-inf")
        high = until if until is not None else float("inf")
        last = (float("-inf"), 0)
        while True:
            with self._db.connection() as conn:
                rows = conn.execute(
                    f"SELECT id, {COLUMNS} FROM {AUDIT} "
                    'WHERE ("time", id) > (%s, %s) AND "time" >= %s AND "time" < %s '
                    f'ORDER BY "time", id LIMIT {_BATCH}',
                    (*last, low, high),
                ).fetchall()
            for row in rows:
                yield AuditEvent(*row[1:])
            if len(rows) < _BATCH:
                return
            last = (rows[-1][1 + _FIELDS.index("time")], rows[-1][0])

    def days(self) -> list[str]:
        with self._db.connection() as conn:
            rows = conn.execute(f"SELECT DISTINCT {_DAY} AS day FROM {AUDIT} ORDER BY day")
            return [str(row[0]) for row in rows.fetchall()]

    def apply_retention(self) -> int:
        """Delete the events older than the retention period; how many."""
        if self.retention_days <= 0:
            return 0
        # Whole UTC days, as the embedded log keeps them.
        cutoff = self._clock() - self.retention_days * 86400
        with self._db.connection() as conn:
            done = conn.execute(
                f'DELETE FROM {AUDIT} WHERE "time" < '
                "extract(epoch FROM date_trunc('day', to_timestamp(%s) AT TIME ZONE 'UTC') "
                "AT TIME ZONE 'UTC')",
                (cutoff,),
            )
            return done.rowcount

    def __len__(self) -> int:
        with self._db.connection() as conn:
            found = conn.execute(f"SELECT count(*) FROM {AUDIT}").fetchone()
        return int(found[0]) if found else 0
