"""The PostgreSQL store (`pip install 'pwreset[postgres]'`): several servers on one
database. `PostgresStore` implements `storage.store.Store`; `replay` keeps the replay
guard's request ids where every server sees them."""

from pwreset.server.storage.postgres.connections import PostgresError
from pwreset.server.storage.postgres.store import PostgresStore

__all__ = ["PostgresError", "PostgresStore"]
