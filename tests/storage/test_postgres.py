"""The PostgreSQL store across servers: two stores with their own connections (two servers)
on one database count one user's wrong answers exactly, share the replay guard, tell a
killed server's work in progress from a running one's, keep answer hashes sealed in the
tables, and never show the database password."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time

import psycopg
import pytest
from storage_support import KEY, enrolled

from pwreset.config.flow_settings import SecuritySettings
from pwreset.protocol.errors import ReplayedRequest
from pwreset.server.flows import lockout, pending
from pwreset.server.storage.postgres import PostgresError, PostgresStore
from pwreset.server.storage.postgres.replay import PostgresReplayJournal

THREADS_PER_SERVER = 4
FAILURES_PER_THREAD = 12


def test_two_servers_count_one_users_wrong_answers_exactly(postgres_lab, pg_dsn) -> None:
    security = SecuritySettings(lockout_threshold=100, lockout_minutes=60, failure_delay=0)
    servers = [PostgresStore.open(pg_dsn, password=postgres_lab.password, data_key=KEY)
               for _ in range(2)]  # fmt: skip
    try:
        servers[0].users.save(enrolled("target"))
        start = threading.Barrier(2 * THREADS_PER_SERVER)

        def fail(db: PostgresStore) -> None:
            start.wait()
            for i in range(FAILURES_PER_THREAD):
                # As Recovery.answer does: under the user's lock, read, count, save.
                with db.users.locked("LAB", "target"):
                    record = db.users.get("lab", "target")
                    assert record is not None
                    lockout.fail_record(record, security, 1_700_000_000.0 + i)
                    db.users.save(record)

        threads = [threading.Thread(target=fail, args=(db,))
                   for db in servers for _ in range(THREADS_PER_SERVER)]  # fmt: skip
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for db in servers:
            record = db.users.get("LAB", "target")
            assert record is not None
            assert record.wrong_answers == 2 * THREADS_PER_SERVER * FAILURES_PER_THREAD
    finally:
        for db in servers:
            db.close()


def test_a_request_one_server_accepted_is_refused_by_the_other(postgres_lab, pg_dsn) -> None:
    """...unless it is the very datagram from the same relay host, once the first server
    has answered it: the failover's retry gets that reply, and nothing runs twice."""
    with (
        PostgresStore.open(pg_dsn, password=postgres_lab.password, data_key=KEY) as a,
        PostgresStore.open(pg_dsn, password=postgres_lab.password, data_key=KEY) as b,
    ):
        first = PostgresReplayJournal(a.connections, 60.0)
        second = PostgresReplayJournal(b.connections, 60.0)
        now = time.time()
        request, datagram, relay = b"\x01" * 16, b"d" * 16, "10.0.0.1"
        with first.unit():
            assert first.record(request, now, datagram, relay) is None
            first.answered(request, b"sealed reply")
        assert second.record(request, now, datagram, relay) == b"sealed reply"
        for other in ((b"e" * 16, relay), (datagram, "10.0.0.2")):
            with pytest.raises(ReplayedRequest):
                second.record(request, now, *other)
        assert second.record(b"\x02" * 16, now, datagram, relay) is None


def test_a_request_whose_server_died_midway_is_run_by_the_next(postgres_lab, pg_dsn) -> None:
    """The acceptance and every write of a request commit together: rolled back (as when
    the server is killed), the next server accepts the retry and finds no effect of it."""
    with (
        PostgresStore.open(pg_dsn, password=postgres_lab.password, data_key=KEY) as a,
        PostgresStore.open(pg_dsn, password=postgres_lab.password, data_key=KEY) as b,
    ):
        first = PostgresReplayJournal(a.connections, 60.0)
        second = PostgresReplayJournal(b.connections, 60.0)
        now, request = time.time(), b"\x03" * 16
        with pytest.raises(RuntimeError), first.unit():
            first.record(request, now, b"d" * 16, "10.0.0.1")
            with a.users.locked("LAB", "rolledback"):
                a.users.save(enrolled("rolledback"))
            raise RuntimeError("killed")
        assert b.users.get("LAB", "rolledback") is None
        assert second.record(request, now, b"d" * 16, "10.0.0.1") is None


def test_answer_hashes_stay_sealed_in_the_tables(postgres_lab, pg_dsn) -> None:
    with PostgresStore.open(pg_dsn, password=postgres_lab.password, data_key=KEY) as db:
        db.users.save(enrolled("jsmith"))
    with psycopg.connect(pg_dsn, password=postgres_lab.password) as conn:
        stored = conn.execute("SELECT doc::text FROM pwreset_users").fetchall()
    assert stored and "jsmith@example.org" in stored[0][0]
    assert "this-is-the-answer-hash" not in stored[0][0]
    assert "code-hash-123" not in stored[0][0]


def test_a_wrong_password_is_named_but_never_shown(postgres_lab, pg_dsn, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "Wrong!" + postgres_lab.password
    with pytest.raises(PostgresError) as caught:
        PostgresStore.open(pg_dsn, password=wrong, data_key=KEY)
    message = str(caught.value)
    assert f"127.0.0.1:{postgres_lab.port}/postgres" in message
    assert "password authentication failed" in message
    assert wrong not in message and wrong not in caplog.text


_KILLED_SERVER = """
import os, sys
from pwreset.server.storage.postgres import PostgresStore
db = PostgresStore.open(sys.argv[1], password=os.environ["PGTEST_PASSWORD"], data_key=None)
db.keyed.put("pending\\0killed", {"op": "reset", "domain": "LAB", "user": "bob",
                                  "time": 1.0, "touched": 1.0, "server": db.server_id})
os._exit(9)  # killed in the middle of its directory write
"""


def test_a_killed_servers_work_is_settled_and_a_running_ones_is_not(postgres_lab, pg_dsn) -> None:
    """issue 9's crash safety with several servers: the next start settles the note of a
    write that a killed server left, and leaves the one a running server is making"""
    env = {**os.environ, "PGTEST_PASSWORD": postgres_lab.password}
    with PostgresStore.open(pg_dsn, password=postgres_lab.password, data_key=KEY) as running:
        clean = PostgresStore.open(pg_dsn, password=postgres_lab.password, data_key=KEY)
        clean.close()
        with PostgresStore.open(pg_dsn, password=postgres_lab.password, data_key=KEY) as after:
            assert not after.unclean_stop  # a clean stop leaves nothing to settle
        done = subprocess.run([sys.executable, "-c", _KILLED_SERVER, pg_dsn], env=env, check=False)
        assert done.returncode == 9
        with (
            pending.noted(running, "reset", "LAB", None, "alice", time.time()),
            PostgresStore.open(pg_dsn, password=postgres_lab.password, data_key=KEY) as nxt,
        ):
            assert nxt.unclean_stop
            pending.settle(nxt, directories={})
            left = [note["server"] for _, note in nxt.keyed.items(pending.PREFIX)]
            assert left == [running.server_id]


def test_connections_the_database_drops_are_replaced(postgres_lab, pg_dsn) -> None:
    """A restart or failover of the database drops every connection: the next request
    still goes through, and the server takes its presence again, so a server starting
    then does not take it for a killed one."""
    with PostgresStore.open(pg_dsn, password=postgres_lab.password, data_key=KEY) as db:
        db.users.save(enrolled("jsmith"))
        with psycopg.connect(postgres_lab.dsn, password=postgres_lab.password) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'pwreset'"
            )
        assert db.users.get("LAB", "jsmith") is not None
        db._presence.check_every = 0.0
        db.require_room()  # before the next request that may write
        with PostgresStore.open(pg_dsn, password=postgres_lab.password, data_key=KEY) as nxt:
            assert not nxt.unclean_stop and nxt.is_running(db.server_id)
