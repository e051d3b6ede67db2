"""Two servers on one PostgreSQL database, through the relay and the real flows: a reset
started on one continues on the other (flow tokens are server-neutral), parallel wrong
answers sent to both are each counted once, a datagram one server handled is not run again
by the other (the replay guard is shared; the very datagram gets the first reply), and the
help desk's unlock goes straight into the database beside them."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest

from pwreset.cli import main
from pwreset.protocol.sealing import open_reply
from pwreset.server.storage.postgres import PostgresStore

from support.flowstack import flow_stack
from support.stacks import secret

PASSWORD_ENV = "PWRESET_TEST_PG_PASSWORD"
SENDERS_PER_SERVER = 2
ANSWERS_PER_SENDER = 4


@pytest.fixture
def two_servers(slapd_lab, slapd_admin, postgres_lab, pg_dsn, tmp_path: Path, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, postgres_lab.password)
    settings = {
        "storage": {"backend": "postgresql", "dsn": pg_dsn, "password_env": PASSWORD_ENV},
        # Every wrong answer is looked at (no slowdown) and none locks the user out.
        "security": {"lockout_threshold": 100, "failure_delay": 0},
    }
    (tmp_path / "a").mkdir()
    with flow_stack("openldap", slapd_lab, slapd_admin, tmp_path / "a", settings) as a:
        # The second server of the same instance: the same keys (data key included).
        shutil.copytree(a.instance / "keys", tmp_path / "b" / "instance" / "keys")
        with flow_stack("openldap", slapd_lab, slapd_admin, tmp_path / "b", settings) as b:
            yield a, b


def test_two_servers_share_flows_counts_and_the_replay_guard(
    two_servers, slapd_admin, fresh_user_name, postgres_lab, pg_dsn, capsys
) -> None:
    a, b = two_servers
    slapd_admin.create_user(fresh_user_name, "Init!Passw0rd-1")
    assert a.enroll(fresh_user_name).status_code == 200
    started = a.start("reset", fresh_user_name)
    assert started.status_code == 200, started.text
    token = started.json()["flow"]

    codes: list[str] = []

    def guess(server, sender: str) -> None:
        # Each a different answer: the same one again would not be counted again.
        for number in range(ANSWERS_PER_SENDER):
            reply = server.step("reset", token, answer=f"not the answer {sender}.{number}")
            codes.append(reply.json().get("code", ""))

    threads = [threading.Thread(target=guess, args=(server, f"{name}{sender}"))
               for name, server in (("a", a), ("b", b))
               for sender in range(SENDERS_PER_SERVER)]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sent = 2 * SENDERS_PER_SERVER * ANSWERS_PER_SENDER
    assert codes == ["wrong_answer"] * sent

    datagram, reply_key = a.seal("reset.step", {"flow": token, "answer": secret("nope")})
    reply = a.send_datagram(datagram)
    assert reply is not None and open_reply(reply, reply_key).failure is not None
    # The relay's failover resends the very datagram to the other server: it answers with
    # the first server's reply, and does not count the answer again (the counts below).
    assert b.send_datagram(datagram, wait=1.0) == reply

    with PostgresStore.open(pg_dsn, password=postgres_lab.password, data_key=a.data_key) as db:
        record = db.users.get(a.domain, fresh_user_name)
        assert record is not None and record.wrong_answers == sent + 1
        failures = [
            e for e in db.audit.query() if e.user == fresh_user_name and e.type == "failure"
        ]
        assert len(failures) == sent + 1

    # The help desk, beside both running servers: straight into the database.
    config = str(a.instance / "pwreset.toml")
    assert main(["users", "unlock", a.domain, fresh_user_name, "-c", config]) == 0
    assert "wrong answers forgotten" in capsys.readouterr().out
    with PostgresStore.open(pg_dsn, password=postgres_lab.password, data_key=a.data_key) as db:
        record = db.users.get(a.domain, fresh_user_name)
        assert record is not None and record.wrong_answers == 0
        assert [e.source for e in db.audit.query() if e.user == fresh_user_name][-1] == "admin"
