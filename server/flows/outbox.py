"""The outbox: messages sent after the reply, on their own threads, with a bounded backlog of
what may be dropped.

A failure alert costs a directory look-up, and anybody can make a flow fail: a flood of
failing requests (a new name each time) would queue look-ups faster than two threads finish
them, and an unbounded queue grows the server's memory until it dies. So failure alerts wait
at most MAX_DROPPABLE at a time; past that they are dropped and counted, with one log line a
minute. Codes and success alerts are never dropped: the flows bound their number (codes per
user and per destination, successes only for users who proved who they are).

Each task runs in a copy of its submitter's context, so its log lines and audit rows name
the request that queued it (pwreset.protocol.trace).
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

log = logging.getLogger("pwreset.server")

WORKERS = 2
# Failure alerts waiting at most: minutes of a slow mail server's work, a few MB at most.
MAX_DROPPABLE = 1000
# How often a line reports the failure alerts dropped since the last.
DROP_LOG_INTERVAL = 60.0


class Outbox:
    def __init__(
        self,
        max_droppable: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._executor = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="alert")
        self._max_droppable = MAX_DROPPABLE if max_droppable is None else max_droppable
        self._clock = clock
        self._lock = threading.Lock()
        self._droppable = 0  # failure alerts queued or running
        self._dropped = 0  # since the last log line
        self._logged_at: float | None = None

    def submit(self, task: Callable[..., Any], *args: Any) -> None:
        """Run `task(*args)` after the reply; it is never dropped."""
        self._executor.submit(contextvars.copy_context().run, task, *args)

    def submit_droppable(self, what: str, task: Callable[[], Any]) -> bool:
        """Run `task` after the reply unless MAX_DROPPABLE such tasks wait already: then it
        is dropped (False), and counted in the next log line about `what`."""
        with self._lock:
            if self._droppable >= self._max_droppable:
                self._dropped += 1
                self._log_drops(what)
                return False
            self._droppable += 1
        self._executor.submit(contextvars.copy_context().run, self._run_droppable, task)
        return True

    def _run_droppable(self, task: Callable[[], Any]) -> None:
        try:
            task()
        finally:
            with self._lock:
                self._droppable -= 1

    def _log_drops(self, what: str) -> None:
        """One line per DROP_LOG_INTERVAL at most (the caller holds the lock)."""
        now = self._clock()
        if self._logged_at is not None and now - self._logged_at < DROP_LOG_INTERVAL:
            return
        log.warning("%d %s dropped: %d are waiting to be sent already (a flood of failing "
                    "requests?)", self._dropped, what, self._max_droppable)  # fmt: skip
        self._logged_at = now
        self._dropped = 0

    def shutdown(self) -> None:
        """Send what is queued, then stop the threads."""
        self._executor.shutdown(wait=True)
