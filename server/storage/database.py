"""The server's database: users and audit log in one data directory, one owner at a time.

<data_dir>/.lock          owner lock (see owner_lock)
<data_dir>/users/         TinyDB on JournalStorage: snapshot.<G>, journal.<G> (tables users,
                          keyed, decoy_strikes)
<data_dir>/audit/         one segment per UTC day
<data_dir>/ROTATING       only while `pwreset db rotate-key` is under way
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING

from pwreset.server.storage.audit import AuditLog
from pwreset.server.storage.durable import make_private_dir
from pwreset.server.storage.errors import RotationPendingError, StorageError
from pwreset.server.storage.free_space import require_room
from pwreset.server.storage.journal_storage import JournalStorage
from pwreset.server.storage.keyed import STRIKES_TABLE, KeyedStore
from pwreset.server.storage.owner_lock import OwnerLock
from pwreset.server.storage.record_cipher import RecordCipher, data_key_id
from pwreset.server.storage.store import ClosedAfterUse, Store
from pwreset.server.storage.tinydb_table import JournalDB
from pwreset.server.storage.users import UserStore

USERS_DIR = "users"
AUDIT_DIR = "audit"
REPLAY_DIR = "replay"  # the request ids the server accepted (storage/replay_journal.py)
ROTATION_MARKER = "ROTATING"
MOVED_MARKER = "MOVED"


class Database(ClosedAfterUse):
    """The embedded store (`store.Store`): open with `Database.open` (the owner) or
    `Database.open_readonly` (the console)."""

    def __init__(
        self,
        data_dir: Path,
        tables: JournalDB,
        cipher: RecordCipher | None,
        audit: AuditLog,
        lock: OwnerLock | None,
    ) -> None:
        self.data_dir = data_dir
        self.tables = tables  # TinyDB: users, keyed, decoy_strikes
        self.storage: JournalStorage = tables.storage
        self.users = UserStore(tables, cipher)
        self.audit = audit
        # In the users' storage: keyed records are written with the records they limit.
        self.keyed = KeyedStore(tables)
        self.strikes = KeyedStore(tables, STRIKES_TABLE)
        self._lock = lock
        # The previous owner died without closing (kill -9, power cut, OOM killer).
        self.unclean_stop = lock is not None and lock.previous_owner_killed

    @classmethod
    def open(
        cls,
        data_dir: Path,
        *,
        data_key: bytes,
        audit_retention_days: int = 0,
        previous_keys: Sequence[bytes] = (),
        compact_min_records: int = 10_000,
    ) -> Database:
        """Take ownership of `data_dir` (created if missing) and load it.

        Raises StoreLockedError if another process owns it, RotationPendingError if a key
        rotation was interrupted and `data_key` is not its new key, StoreCorruptError if a
        file is damaged beyond a torn tail.
        """
        make_private_dir(data_dir)
        lock = OwnerLock(data_dir)
        try:
            _check_moved(data_dir)
            _check_rotation(data_dir, data_key)
            tables = JournalDB(data_dir / USERS_DIR, compact_min_records=compact_min_records)
            try:
                audit = AuditLog(data_dir / AUDIT_DIR, retention_days=audit_retention_days)
            except BaseException:
                tables.close()
                raise
        except BaseException:
            lock.release()
            raise
        return cls(data_dir, tables, RecordCipher(data_key, previous_keys), audit, lock)

    @classmethod
    def open_readonly(cls, data_dir: Path, *, data_key: bytes | None = None) -> Database:
        """A view of the files as they are, without the owner lock; writes nothing, so it is
        safe beside a running server. A record still being appended is left out."""
        if not data_dir.is_dir():
            raise StorageError(f"{data_dir}: no data directory there")
        tables = JournalDB(data_dir / USERS_DIR, read_only=True)
        cipher = RecordCipher(data_key) if data_key is not None else None
        audit = AuditLog(data_dir / AUDIT_DIR, read_only=True)
        return cls(data_dir, tables, cipher, audit, None)

    # One server owns the folder: whatever it finds at start was left by one that is gone.
    server_id = ""

    def is_running(self, server_id: str) -> bool:
        return False

    def require_room(self) -> None:
        """Raise StorageFullError unless a request that may write can be let in: see
        `free_space` (the users, the audit log and the replay journal share the folder)."""
        require_room(self.data_dir)

    def at_once(self) -> AbstractContextManager[None]:
        """Every write is durable when it returns: there is no request transaction here."""
        return contextlib.nullcontext()

    def close(self) -> None:
        try:
            self.storage.close()
            self.audit.close()
        finally:
            if self._lock is not None:
                self._lock.release()
                self._lock = None


if TYPE_CHECKING:
    _IS_A_STORE: type[Store] = Database  # mypy checks that Database implements Store


def rotation_state(data_dir: Path) -> dict[str, str] | None:
    """What the ROTATING marker says (new key id and key file), or None."""
    path = data_dir / ROTATION_MARKER
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise StorageError(f"{path}: unreadable rotation marker ({exc})") from None
    if not isinstance(state, dict):
        raise StorageError(f"{path}: unreadable rotation marker")
    return {str(k): str(v) for k, v in state.items()}


def _check_moved(data_dir: Path) -> None:
    marker = data_dir / MOVED_MARKER
    if marker.exists():
        target = marker.read_text(encoding="utf-8").strip()
        raise StorageError(
            f"{data_dir}: this data directory was moved to {target} by `pwreset db move`; "
            "set server.data_dir to the new folder"
        )


def _check_rotation(data_dir: Path, data_key: bytes) -> None:
    state = rotation_state(data_dir)
    if state is not None and state.get("new_key_id") != data_key_id(data_key):
        raise RotationPendingError(
            f"{data_dir}: a data-key rotation to key {state.get('new_key_id')} was "
            "interrupted; run `pwreset db rotate-key` again to finish it before starting "
            "the server"
        )
