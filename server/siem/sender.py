"""One destination's bounded queue and the thread that empties it.

A flow only ever puts a row in the queue: never a wait, never an exception. When the
destination is slow or down the thread tries again with a growing pause and the queue
fills; past its size rows are dropped, counted, and logged at most once a minute (the
audit log in the store has every one of them)."""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable

from pwreset.server.siem.destinations import Destination
from pwreset.server.siem.messages import Exported

log = logging.getLogger("pwreset.siem")

RETRY_FIRST = 0.5  # seconds before the first new try; doubled after each failure
RETRY_MOST = 30.0
WARN_EVERY = 60.0  # at most one warning per this many seconds about drops or an outage
_STOP = object()


class Sender:
    def __init__(
        self,
        destination: Destination,
        queue_size: int,
        *,
        retry_first: float = RETRY_FIRST,
        retry_most: float = RETRY_MOST,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.destination = destination
        self.sent = 0
        self.dropped = 0
        self._queue: queue.Queue[object] = queue.Queue(maxsize=queue_size)
        self._retry_first, self._retry_most = retry_first, retry_most
        self._clock = clock
        self._abort = threading.Event()
        self._lock = threading.Lock()  # the drop count and its warnings
        self._dropped_warned = 0
        self._last_drop_warning = -WARN_EVERY
        self._thread = threading.Thread(
            target=self._run, name=f"siem {destination.name}", daemon=True
        )
        self._thread.start()

    def offer(self, item: Exported) -> None:
        """Queue `item`, or count it dropped when the queue is full. Never blocks."""
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            with self._lock:
                self.dropped += 1
                now = self._clock()
                if now - self._last_drop_warning < WARN_EVERY:
                    return
                self._last_drop_warning = now
                new, self._dropped_warned = self.dropped - self._dropped_warned, self.dropped
            log.warning("%s: the queue is full, %d audit event(s) dropped (they are in the "
                        "audit log); %d dropped since start", self.destination.name, new,
                        self.dropped)  # fmt: skip

    def close(self, timeout: float = 5.0) -> None:
        """Send what is queued for up to `timeout` seconds, then stop; what is left is
        counted dropped and logged."""
        deadline = time.monotonic() + timeout
        with contextlib.suppress(queue.Full):
            self._queue.put(_STOP, timeout=timeout)
        self._thread.join(max(0.0, deadline - time.monotonic()))
        if self._thread.is_alive():
            self._abort.set()
            self._thread.join(self._retry_most)
        left = sum(1 for item in _drain(self._queue) if item is not _STOP)
        if left:
            with self._lock:
                self.dropped += left
            log.warning("%s: %d audit event(s) not sent at shutdown (they are in the audit "
                        "log)", self.destination.name, left)  # fmt: skip
        self.destination.close()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP or self._abort.is_set():
                return
            assert isinstance(item, Exported)
            if not self._deliver(item):
                return

    def _deliver(self, item: Exported) -> bool:
        """Send `item`, trying again until it goes; False when aborted at shutdown."""
        pause = self._retry_first
        down_since: float | None = None
        warned = -WARN_EVERY
        while True:
            try:
                self.destination.send(item)
            except Exception as exc:  # whatever it is, the flows never see it
                now = self._clock()
                if down_since is None:
                    down_since = now
                if now - warned >= WARN_EVERY:
                    warned = now
                    log.warning("%s: not reachable (%s); trying again, %d audit event(s) "
                                "waiting", self.destination.name, _reason(exc),
                                self._queue.qsize() + 1)  # fmt: skip
                if self._abort.wait(pause):
                    with self._lock:
                        self.dropped += 1
                    return False
                pause = min(pause * 2, self._retry_most)
                continue
            self.sent += 1
            if down_since is not None:
                log.warning("%s: reachable again after %.0f s", self.destination.name,
                            self._clock() - down_since)  # fmt: skip
            return True


def _reason(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _drain(items: queue.Queue[object]) -> list[object]:
    out = []
    while True:
        try:
            out.append(items.get_nowait())
        except queue.Empty:
            return out
