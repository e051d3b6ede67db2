"""Failover: a site names two servers on one PostgreSQL database, several users reset their
passwords at once through the relay, and the server they all started on is killed (SIGKILL)
in the middle, while it is in the middle of counting a wrong answer (the test holds that
user's lock) and others' replies wait for the reply floor. Every flow completes on the other
server, those started on the dead one included (flow tokens are server-neutral), and every
wrong answer is counted exactly once: a request the dead server had finished is answered
from its stored reply, one it had not is rolled back with it and run afresh."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import psycopg
import pytest
import tomli_w

from pwreset.api import RelaySettings, create_app
from pwreset.config import load_config
from pwreset.instance import create_instance
from pwreset.protocol.keys import read_secret_key
from pwreset.server.storage.postgres import PostgresStore
from pwreset.server.storage.postgres.connections import lock_key
from pwreset.server.storage.users import user_key

from support.flowstack import ANSWERS, PASSWORD, QUESTIONS, backend_config, sms_recorder
from support.smtp import SmtpServer
from support.stacks import Stack, _answering, _launch, free_port, secret

PASSWORD_ENV = "PWRESET_TEST_PG_PASSWORD"
RESETTERS = 4  # users who answer wrong once, then right, and set a new password
GUESSERS = 2  # users who only answer wrong, three times
WRONG_PER_GUESSER = 3
NEW_PASSWORD = "Failover!Passw0rd-2"


@pytest.fixture
def two_servers(
    slapd_lab: Any, postgres_lab: Any, pg_dsn: str, tmp_path: Path
) -> Iterator[tuple[Stack, Stack]]:
    settings = {
        "storage": {"backend": "postgresql", "dsn": pg_dsn, "password_env": PASSWORD_ENV},
        # Long enough a floor that replies are held when the server is killed.
        "security": {"lockout_threshold": 100, "failure_delay": 0, "reply_floor_ms": 500},
        "web": {"timeout": 0.5, "attempts": 30, "rate_limit": 0},
    }
    sms, _ = sms_recorder(tmp_path)
    with SmtpServer("plain") as smtp:
        ports = free_port("udp"), free_port("udp")
        data, env_name = backend_config("openldap", slapd_lab, ports[0], smtp, sms, settings, False)
        data["web"]["server"] = [f"127.0.0.1:{port}" for port in ports]
        env = {**os.environ, env_name: slapd_lab.service_password,
               PASSWORD_ENV: postgres_lab.password}  # fmt: skip
        stacks = []
        for name, port in zip("ab", ports, strict=True):
            data["server"]["listen"] = f"127.0.0.1:{port}"
            instance = tmp_path / name
            if stacks:  # the second server of the same instance: the same keys
                shutil.copytree(stacks[0].instance / "keys", instance / "keys")
                (instance / "pwreset.toml").write_text(tomli_w.dumps(data))
            else:
                create_instance(instance, config_text=tomli_w.dumps(data))
            config = load_config(instance / "pwreset.toml")
            output = instance / "server.out"
            process = _launch(instance, env, output)
            stacks.append(Stack("openldap", "EXAMPLE", instance, config, process,
                                instance / "server.log", output, env))  # fmt: skip
            _answering(stacks[-1])
        try:
            yield stacks[0], stacks[1]
        finally:
            for stack in stacks:
                stack.stop()


def test_a_killed_server_leaves_every_flow_to_the_other(
    two_servers: tuple[Stack, Stack], slapd_admin: Any, fresh_user_name: str, postgres_lab: Any,
    pg_dsn: str,
) -> None:  # fmt: skip
    a, b = two_servers
    resetters = [f"{fresh_user_name}r{i}" for i in range(RESETTERS)]
    guessers = [f"{fresh_user_name}g{i}" for i in range(GUESSERS)]
    for user in resetters + guessers:
        slapd_admin.create_user(user, PASSWORD)
    app = create_app(RelaySettings.from_config(a.config))
    relay = app.state.relay
    killed: list[Stack] = []

    async def post(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> httpx.Response:
        return await client.post(f"/pwreset/api/v1/{path}", json=body)

    async def enroll(client: httpx.AsyncClient, user: str) -> None:
        body = {"domain": "EXAMPLE", "username": user, "password": secret(PASSWORD), "lang": "en",
                "answers": [{"question": q, "answer": secret(t)}
                            for q, t in zip(QUESTIONS, ANSWERS, strict=False)]}  # fmt: skip
        response = await post(client, "enroll", body)
        assert response.status_code == 200, response.text

    async def start(client: httpx.AsyncClient, user: str) -> str:
        started = await post(client, "reset/start", {"domain": "EXAMPLE", "username": user})
        assert started.status_code == 200, started.text
        return str(started.json()["flow"])

    async def wrong(client: httpx.AsyncClient, token: str) -> None:
        # Each one different: the same wrong answer again would not be counted again.
        answer = f"not the answer {secrets.token_hex(4)}"
        reply = await post(client, "reset/step", {"flow": token, "answer": answer})
        assert reply.json().get("code") == "wrong_answer", reply.text

    async def reset(client: httpx.AsyncClient, user: str) -> None:
        await enroll(client, user)
        token = await start(client, user)
        await wrong(client, token)
        for answer in ANSWERS:
            reply = await post(client, "reset/step", {"flow": token, "answer": answer})
            assert reply.status_code == 200, reply.text
            token = reply.json()["flow"]
        done = await post(client, "reset/step",
                          {"flow": token, "new_password": secret(NEW_PASSWORD)})  # fmt: skip
        assert done.json().get("status") == "done", done.text

    async def guess(client: httpx.AsyncClient) -> None:
        """Both guessers answer wrong three times; the server is killed during the second
        answers: the first's is blocked inside its transaction (the test holds the user's
        lock), the second's is done and its reply held back to the floor."""
        tokens = await asyncio.gather(*(enroll_and_start(client, u) for u in guessers))
        await asyncio.gather(*(wrong(client, t) for t in tokens))
        with psycopg.connect(pg_dsn, password=postgres_lab.password, autocommit=True) as conn:
            blocked, held = guessers
            key = lock_key("user", user_key("EXAMPLE", blocked))
            conn.execute("SELECT pg_advisory_lock(%s)", (key,))
            steps = asyncio.gather(*(wrong(client, t) for t in tokens))
            while not (waiting(conn) and counted(conn, held) == 2):
                await asyncio.sleep(0.02)
            # The one all requests go to (the relay sticks to it), the first unless it was
            # once too slow under load: the other one stays.
            killed.append(a if relay.failover.live("pwreset") == a.server_address else b)
            killed[0].process.send_signal(signal.SIGKILL)
            assert killed[0].process.wait(5) == -signal.SIGKILL
        await steps  # the test's lock went with its connection
        await asyncio.gather(*(wrong(client, t) for t in tokens))

    async def enroll_and_start(client: httpx.AsyncClient, user: str) -> str:
        await enroll(client, user)
        return await start(client, user)

    async def run() -> None:
        transport = httpx.ASGITransport(app=app, client=("192.0.2.10", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://relay") as client:
            await asyncio.gather(*(reset(client, u) for u in resetters),
                                 guess(client))  # fmt: skip

    asyncio.run(run())
    survivor = b if killed == [a] else a
    assert survivor.process.poll() is None

    for user in resetters:
        assert slapd_admin.bind_ok(user, NEW_PASSWORD)
    data_key = read_secret_key(a.instance / "keys" / "data.key")
    with PostgresStore.open(pg_dsn, password=postgres_lab.password, data_key=data_key) as db:
        events = [(e.user, e.type, e.event) for e in db.audit.query()]
        for user in resetters:
            failures = [e for e in events if e[0] == user and e[1] == "failure"]
            assert len(failures) == 1, events
            assert [e for e in events if e[0] == user and e[2] == "password reset"], events
        for user in guessers:
            failures = [e for e in events if e[0] == user and e[1] == "failure"]
            assert len(failures) == WRONG_PER_GUESSER, events
            record = db.users.get("EXAMPLE", user)
            assert record is not None and record.wrong_answers == WRONG_PER_GUESSER


def waiting(conn: psycopg.Connection[Any]) -> bool:
    """Whether a server waits for an advisory lock (the one the test holds)."""
    row = conn.execute(
        "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
        "AND query LIKE '%pg_advisory_lock%'"
    ).fetchone()
    return row is not None


def counted(conn: psycopg.Connection[Any], user: str) -> int:
    """The wrong answers of `user` committed to the audit log."""
    row = conn.execute(
        "SELECT count(*) FROM pwreset_audit WHERE \"user\" = %s AND type = 'failure'", (user,)
    ).fetchone()
    return int(row[0]) if row else 0
