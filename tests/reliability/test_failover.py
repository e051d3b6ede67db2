"""Failover: a site names two servers on one PostgreSQL database, several users reset their
passwords at once through the relay, and the server they all started on is killed (SIGKILL)
in the middle. Every flow completes on the other server, those started on the dead one
included (flow tokens are server-neutral), and every wrong answer is counted exactly once:
a request the dead server had finished is answered from its stored reply, one it had not is
rolled back with it and run afresh."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
import tomli_w

from pwreset.api import RelaySettings, create_app
from pwreset.config import load_config
from pwreset.instance import create_instance
from pwreset.protocol.keys import read_secret_key
from pwreset.server.storage.postgres import PostgresStore

from support.flowstack import ANSWERS, PASSWORD, QUESTIONS, backend_config, sms_recorder
from support.smtp import SmtpServer
from support.stacks import Stack, _answering, _launch, free_port, secret

PASSWORD_ENV = "PWRESET_TEST_PG_PASSWORD"
RESETTERS = 4  # users who answer wrong once, then right, and set a new password
GUESSERS = 2  # users who only answer wrong
WRONG_PER_GUESSER = 3
NEW_PASSWORD = "Failover!Passw0rd-2"
# The relay's replies seen before the first server is killed: past the enrollments, while
# the resets are under way.
KILL_AFTER = RESETTERS + GUESSERS + 3


@pytest.fixture
def two_servers(
    slapd_lab: Any, postgres_lab: Any, pg_dsn: str, tmp_path: Path
) -> Iterator[tuple[Stack, Stack]]:
    settings = {
        "storage": {"backend": "postgresql", "dsn": pg_dsn, "password_env": PASSWORD_ENV},
        "security": {"lockout_threshold": 100, "failure_delay": 0},
        "web": {"timeout": 0.25, "attempts": 40, "rate_limit": 0},
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
    replies = 0

    async def post(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> httpx.Response:
        nonlocal replies
        response = await client.post(f"/pwreset/api/v1/{path}", json=body)
        replies += 1
        if replies == KILL_AFTER:
            a.process.send_signal(signal.SIGKILL)
        return response

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
        reply = await post(client, "reset/step", {"flow": token, "answer": "not the answer"})
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

    async def guess(client: httpx.AsyncClient, user: str) -> None:
        await enroll(client, user)
        token = await start(client, user)
        for _ in range(WRONG_PER_GUESSER):
            await wrong(client, token)

    async def run() -> None:
        transport = httpx.ASGITransport(app=app, client=("192.0.2.10", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://relay") as client:
            await asyncio.gather(*(reset(client, u) for u in resetters),
                                 *(guess(client, u) for u in guessers))  # fmt: skip

    asyncio.run(run())
    assert a.process.wait(5) == -signal.SIGKILL  # killed mid-run, not after it
    assert b.process.poll() is None

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
