"""Wrong answers of unknown and unenrolled names, so they are slowed down and locked out
exactly like enrolled users (see `lockout`).

Names are kept only as an HMAC under a key derived from the data key (the store does not
list who was tried), each count is a durable write like an enrolled user's, and the table
stays bounded however many names attackers try: counts older than the lockout box are
swept away, and past `MAX_ENTRIES` the oldest go first.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
from collections.abc import Callable

from pwreset.config.flow_settings import SecuritySettings
from pwreset.config.schema import DomainConfig
from pwreset.server.flows.lockout import Strikes
from pwreset.server.storage.errors import StorageError
from pwreset.server.storage.journal_storage import JournalStorage, decode_document, encode_document
from pwreset.server.storage.users import user_key

log = logging.getLogger("pwreset.flows")

TABLE = "decoy_strikes"
# ~100 bytes each in memory and in the snapshot: 10 MB at most.
MAX_ENTRIES = 100_000
# A sweep reads the whole table: at most this often, and, once the table is full, down to
# this share of MAX_ENTRIES, so the next one comes after many new names, not the next one.
_SWEEP_EVERY = 60.0
_SWEEP_TO = 0.9


def directory_name(typed: str, domain: DomainConfig | None) -> str:
    """The name the directory looks `typed` up as, which a decoy is kept and known under:
    the spellings the directory takes for one account (AD: "LAB\\bob", "bob@lab.example.com")
    are one decoy, and those it does not ("bob@elsewhere", "LAB\\bob" on OpenLDAP) are
    others, exactly as for an existing user. Otherwise a spelling that reaches an enrolled
    user's record for one try and a decoy for the next would tell who exists (the counts,
    the questions shown)."""
    name = typed.strip()
    if domain is None or domain.kind != "ad" or domain.user_filter:
        return name
    # As ActiveDirectory._find does, and the default filter's userPrincipalName match.
    if "\\" in name:
        name = name.split("\\", 1)[1]
    suffix = "@" + domain.dns_domain()
    if name.casefold().endswith(suffix.casefold()):
        name = name[: -len(suffix)]
    return name


class DecoyStrikes:
    """Strikes by (domain, name) for names that have no enrollment, the name as
    `directory_name` gives it. Thread-safe."""

    def __init__(
        self,
        storage: JournalStorage,
        data_key: bytes,
        security: SecuritySettings,
        clock: Callable[[], float],
    ) -> None:
        self._storage = storage
        self._key = hmac.new(data_key, b"pwreset decoy strikes v1", hashlib.sha256).digest()
        self._security = security
        self._clock = clock
        self._sweep_lock = threading.Lock()
        self._last_sweep = 0.0
        self._sweeper: threading.Thread | None = None

    def _id(self, domain: str, name: str) -> str:
        key = user_key(domain, name.strip()).encode("utf-8")
        return hmac.new(self._key, key, hashlib.sha256).hexdigest()[:32]

    def get(self, domain: str, name: str) -> Strikes:
        value = self._storage.get(TABLE, self._id(domain, name))
        if value is None:
            return Strikes()
        doc = decode_document(value)
        return Strikes(int(doc.get("n", 0)), doc.get("t"))

    def put(self, domain: str, name: str, strikes: Strikes) -> None:
        """Durable when this returns, like an enrolled user's record."""
        key = self._id(domain, name)
        self._storage.put(TABLE, key, encode_document({"n": strikes.count, "t": strikes.last}))
        self._maybe_sweep()

    def release(self, domain: str, name: str) -> bool:
        return self._storage.delete(TABLE, self._id(domain, name))

    def __len__(self) -> int:
        return self._storage.count(TABLE)

    def _maybe_sweep(self) -> None:
        now = self._clock()
        if len(self) <= MAX_ENTRIES and now - self._last_sweep < _SWEEP_EVERY:
            return
        if not self._sweep_lock.acquire(blocking=False):
            return  # another thread is sweeping
        self._last_sweep = now
        # Not in the request: a full table takes a while to read, and only a decoy's wrong
        # answer would wait for it, which would tell it from an enrolled user's.
        self._sweeper = threading.Thread(
            target=self._sweep_in_background, args=(now,), name="decoy-sweep", daemon=True
        )
        self._sweeper.start()

    def _sweep_in_background(self, now: float) -> None:
        try:
            self.sweep(now)
        except StorageError as exc:
            # The counts were written; the sweep tries again next time.
            log.warning("could not sweep old decoy counts: %s", exc)
        finally:
            self._sweep_lock.release()

    def settle(self) -> None:
        """Wait for a sweep under way (for tests and a clean stop)."""
        if self._sweeper is not None:
            self._sweeper.join()

    def sweep(self, now: float) -> int:
        """Remove counts past the lockout box, then, past MAX_ENTRIES, the oldest down to
        _SWEEP_TO of it."""
        box = self._security.lockout_minutes * 60.0
        entries = []
        for key, value in self._storage.items(TABLE):
            last = decode_document(value).get("t") or 0.0
            entries.append((float(last), key))
        expired = [key for last, key in entries if box and now - last >= box]
        kept = sorted((e for e in entries if not (box and now - e[0] >= box)), reverse=True)
        room = MAX_ENTRIES if len(kept) <= MAX_ENTRIES else int(MAX_ENTRIES * _SWEEP_TO)
        doomed = expired + [key for _, key in kept[room:]]
        return self._storage.delete_many(TABLE, doomed) if doomed else 0
