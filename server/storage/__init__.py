"""The backend's store: the interface the flows use (`Store`, in `store`) and its embedded
implementation, `Database`: TinyDB tables on a journaled storage, and the audit log.

The server opens `Database.open(...)` and hands it to the flows, which use `db.users`,
`db.audit` and `db.keyed`; the Data Console and the database tools use the same classes
read-only or as the owner.
"""

from pwreset.server.storage.audit import AuditEvent, AuditLog
from pwreset.server.storage.database import Database
from pwreset.server.storage.errors import (
    RotationPendingError,
    StorageError,
    StorageFullError,
    StoreCorruptError,
    StoreKeyError,
    StoreLockedError,
    StoreReadOnlyError,
)
from pwreset.server.storage.journal_storage import JournalStorage
from pwreset.server.storage.store import AuditTrail, KeyedRecords, Store, Users
from pwreset.server.storage.users import UserRecord, UserStore

__all__ = [
    "AuditEvent",
    "AuditLog",
    "AuditTrail",
    "Database",
    "JournalStorage",
    "KeyedRecords",
    "RotationPendingError",
    "StorageError",
    "StorageFullError",
    "Store",
    "StoreCorruptError",
    "StoreKeyError",
    "StoreLockedError",
    "StoreReadOnlyError",
    "UserRecord",
    "UserStore",
    "Users",
]
