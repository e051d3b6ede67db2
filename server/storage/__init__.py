"""The backend's embedded database: durable TinyDB storage, users, audit log, console queries.

The flows use `Database.open(...)`, then `db.users` and `db.audit`; the Data Console and the
database tools use the same classes read-only or as the owner.
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
from pwreset.server.storage.users import UserRecord, UserStore

__all__ = [
    "AuditEvent",
    "AuditLog",
    "Database",
    "JournalStorage",
    "RotationPendingError",
    "StorageError",
    "StorageFullError",
    "StoreCorruptError",
    "StoreKeyError",
    "StoreLockedError",
    "StoreReadOnlyError",
    "UserRecord",
    "UserStore",
]
