"""Sweeps of a table beside the requests: a read of a whole table (which an attacker may have
filled) never delays a reply, so no reply tells by its time whose write set the sweep off."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from pwreset.server.storage.errors import StorageError

log = logging.getLogger("pwreset.flows")


class BackgroundSweep:
    """Runs `sweep(now)` in a daemon thread at most once per `every` seconds of the caller's
    clock, or at once when `due` (a table past its cap); never two at once."""

    def __init__(self, what: str, every: float = 60.0) -> None:
        self._what = what
        self._every = every
        self._lock = threading.Lock()
        self._last = 0.0
        self._thread: threading.Thread | None = None

    def maybe(self, now: float, sweep: Callable[[float], object], *, due: bool = False) -> None:
        if not due and now - self._last < self._every:
            return
        if not self._lock.acquire(blocking=False):
            return  # another thread is sweeping
        self._last = now
        # Kept before it starts: a sweep that ends at once lets the next one in, whose
        # thread `settle` must then see, not this one's.
        self._thread = threading.Thread(
            target=self._run, args=(sweep, now), name="sweep", daemon=True
        )
        try:
            self._thread.start()
        except RuntimeError as exc:
            # No thread to be had (a flood at its height): a call `every` seconds on tries
            # again; a lock kept here would end every sweep for the life of the process.
            self._thread = None
            self._lock.release()
            log.warning("could not start a sweep of %s: %s", self._what, exc)

    def _run(self, sweep: Callable[[float], object], now: float) -> None:
        try:
            sweep(now)
        except StorageError as exc:
            # What was written stands; the next sweep tries again.
            log.warning("could not sweep %s: %s", self._what, exc)
        finally:
            self._lock.release()

    def settle(self) -> None:
        """Wait for a sweep under way (for tests and a clean stop)."""
        if self._thread is not None:
            self._thread.join()
