"""The tables of the PostgreSQL store, created when a server first opens the database.

Keys are bytea (a user's key holds a NUL between domain and name, which text refuses);
documents are `json`, which keeps any string the embedded store keeps.
"""

from __future__ import annotations

import psycopg

from pwreset.server.storage.postgres.connections import Connections, lock_key

VERSION = 1

USERS = "pwreset_users"
KEYED = "pwreset_keyed"
AUDIT = "pwreset_audit"
REPLAY = "pwreset_replay"
SERVERS = "pwreset_servers"
_VERSION_TABLE = "pwreset_schema"

# Every table `pwreset db copy` clears and fills, in a safe order.
DATA_TABLES = (USERS, KEYED, AUDIT)

_DDL = f"""
CREATE TABLE IF NOT EXISTS {_VERSION_TABLE} (version integer NOT NULL);
CREATE TABLE IF NOT EXISTS {USERS} (
    key bytea PRIMARY KEY,
    doc json NOT NULL
);
CREATE TABLE IF NOT EXISTS {KEYED} (
    kind text NOT NULL,
    key bytea NOT NULL,
    doc json NOT NULL,
    -- the document's `touched`, for expiry (NULL when it has none, or not a number)
    touched double precision,
    PRIMARY KEY (kind, key)
);
CREATE TABLE IF NOT EXISTS {AUDIT} (
    id bigserial PRIMARY KEY,
    "time" double precision NOT NULL,
    type text NOT NULL,
    source text NOT NULL,
    "user" text NOT NULL,
    domain text NOT NULL,
    event text NOT NULL,
    ip text NOT NULL,
    web_user text NOT NULL
);
CREATE INDEX IF NOT EXISTS {AUDIT}_time ON {AUDIT} ("time");
CREATE TABLE IF NOT EXISTS {REPLAY} (
    request_id bytea PRIMARY KEY,
    expires double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS {REPLAY}_expires ON {REPLAY} (expires);
-- the datagram's digest, the relay host it came from and the sealed reply: a retry of the
-- very datagram that reaches another server (the relay's failover) is answered with it
ALTER TABLE {REPLAY} ADD COLUMN IF NOT EXISTS datagram bytea;
ALTER TABLE {REPLAY} ADD COLUMN IF NOT EXISTS origin text;
ALTER TABLE {REPLAY} ADD COLUMN IF NOT EXISTS reply bytea;
CREATE TABLE IF NOT EXISTS {SERVERS} (
    server_id text PRIMARY KEY,
    started double precision NOT NULL
);
"""


class SchemaError(psycopg.Error):
    """The database holds tables of a newer pwreset."""


def create_schema(connections: Connections) -> None:
    """Create the tables if missing; servers starting together take turns."""
    with connections.locked(lock_key("schema", "pwreset")), connections.connection() as conn:
        conn.execute(_DDL)
        row = conn.execute(f"SELECT max(version) FROM {_VERSION_TABLE}").fetchone()
        found = row[0] if row else None
        if found is None:
            conn.execute(f"INSERT INTO {_VERSION_TABLE} VALUES (%s)", (VERSION,))
        elif int(str(found)) > VERSION:
            raise SchemaError(
                f"the database holds pwreset tables of schema {found}; this pwreset knows "
                f"{VERSION}: upgrade pwreset"
            )
