"""Disk full, on the real stack: `pwreset server` (a process) with its data folder on a small
tmpfs, a real directory, requests through the relay.

Filled to the last block, the server refuses every request that would store something with
`storage_full` (503, RES_STORAGE_FULL), before it touches the directory or judges an answer;
it still answers meta and the enrollment status; nothing stored before is lost; and once
space is freed the next enrollment and reset go through without a restart.
"""

from __future__ import annotations

import secrets as random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from pwreset.api import RelaySettings, create_app
from pwreset.protocol.keys import read_secret_key
from pwreset.server.storage import Database

from support.secrets_scan import assert_no_secrets
from support.stacks import Stack, restart_stack, secret, start_stack
from support.tmpfs import fill, small_tmpfs

pytestmark = [pytest.mark.slapd, pytest.mark.samba]

PASSWORD = "Init!Passw0rd-1"
SITE = "/full/api/v1"


@pytest.fixture(params=["openldap", "ad"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def admin(kind: str, request: pytest.FixtureRequest) -> Any:
    return request.getfixturevalue("samba_admin" if kind == "ad" else "slapd_admin")


@pytest.fixture
def data(tmp_path: Path) -> Iterator[Path]:
    """The server's data folder: a 16 MiB tmpfs (the server keeps 4 MiB in reserve)."""
    with small_tmpfs(tmp_path / "data", 16 << 20) as mounted:
        yield mounted


@pytest.fixture
def stack(kind: str, request: pytest.FixtureRequest, tmp_path: Path, data: Path) -> Iterator[Stack]:
    lab = request.getfixturevalue("samba_lab" if kind == "ad" else "slapd_lab")
    domain = "LAB" if kind == "ad" else "EXAMPLE"
    sites = f"""
[sites.full]
flows = ["enroll", "reset", "change"]
domains = ["{domain}"]

[api]
enrollment_status = true
"""
    started = start_stack(
        tmp_path, kind, lab, extra_sites=sites, server_settings=f'data_dir = "{data}"', timeout=3
    )
    try:
        yield started
    finally:
        started.stop()  # before the tmpfs goes: the server holds files open there


@pytest.fixture
def relay(stack: Stack) -> Iterator[TestClient]:
    with TestClient(create_app(RelaySettings.from_config(stack.config))) as client:
        yield client


class Pages:
    """What the site's pages send, for one directory."""

    def __init__(self, relay: TestClient, domain: str) -> None:
        self.relay = relay
        self.domain = domain
        meta = relay.get(f"{SITE}/meta").json()
        self.questions = meta["enroll"]["question_list"]["en"][: meta["enroll"]["questions"]]

    def enroll(self, user: str, answers: list[str]) -> Any:
        asked = zip(self.questions, answers, strict=True)
        pairs = [{"question": q, "answer": secret(a)} for q, a in asked]
        body = {"domain": self.domain, "username": user, "password": PASSWORD, "answers": pairs}
        return self.relay.post(f"{SITE}/enroll", json=body)

    def start(self, user: str) -> Any:
        return self.relay.post(
            f"{SITE}/reset/start", json={"domain": self.domain, "username": user}
        )

    def step(self, flow: str, **value: str) -> Any:
        return self.relay.post(f"{SITE}/reset/step", json={"flow": flow, **value})

    def enrolled(self, user: str) -> bool:
        reply = self.relay.get(f"{SITE}/enrollments/{self.domain}/{user}")
        assert reply.status_code == 200, reply.text
        return bool(reply.json()["isEnrolled"])

    def change(self, user: str, new: str) -> Any:
        body = {
            "domain": self.domain,
            "username": user,
            "old_password": PASSWORD,
            "new_password": secret(new),
        }
        return self.relay.post(f"{SITE}/change", json=body)


def _storage_full(reply: Any) -> bool:
    body = reply.json()
    return (
        reply.status_code == 503
        and reply.headers["content-type"].startswith("application/problem+json")
        and (body["code"], body["message"]) == ("storage_full", "RES_STORAGE_FULL")
    )


def _stored(stack: Stack, data: Path) -> tuple[dict[str, Any], list[tuple[str, str, str]]]:
    """Every user record and audit row as a fresh reader loads them from the files."""
    db = Database.open_readonly(data, data_key=read_secret_key(stack.instance / "keys/data.key"))
    try:
        assert db.storage.torn_tails == []
        users = {r.username: r for r in db.users}
        rows = [(e.user, e.type, e.event) for e in db.audit.query()]
    finally:
        db.close()
    return users, rows


def test_a_full_data_folder_refuses_writes_serves_reads_and_recovers(
    stack: Stack, relay: TestClient, admin: Any, data: Path
) -> None:
    tag = random.token_hex(4)
    ann, bob = f"a{tag}", f"b{tag}"
    for user in (ann, bob):
        admin.create_user(user, PASSWORD)
    pages = Pages(relay, stack.domain)
    answers = [f"Answer {n} {tag}" for n in range(len(pages.questions))]
    assert pages.enroll(ann, answers).status_code == 200
    started = pages.start(ann).json()  # a reset under way when the disk fills
    assert started["step"]["kind"] == "question"
    before = _stored(stack, data)

    filler = fill(data)

    # Writes are refused whole, before any directory change or answer check.
    assert _storage_full(pages.enroll(bob, answers))
    assert _storage_full(pages.change(ann, f"Chg!{tag}-Pw9"))
    assert admin.bind_ok(ann, PASSWORD)
    assert _storage_full(pages.start(ann))
    # The same reply to a right and a wrong answer: no guessing while nothing is counted.
    assert _storage_full(pages.step(started["flow"], answer=secret(f"Wrong {tag}")))
    assert _storage_full(pages.step(started["flow"], answer=answers[0]))
    # Reads go on.
    assert relay.get(f"{SITE}/meta").status_code == 200
    assert pages.enrolled(ann) is True
    assert pages.enrolled(bob) is False
    # Nothing stored before is lost or torn, and nothing was half-written.
    assert _stored(stack, data) == before
    # The operator is told once, not once per refused request.
    log = stack.log_file.read_text()
    assert log.count("requests that would write are refused until there is room") == 1

    filler.unlink()

    # No restart: the next enrollment and a whole reset go through.
    assert pages.enroll(bob, answers).status_code == 200
    assert pages.enrolled(bob) is True
    reply = pages.start(ann)
    for answer in answers:
        reply = pages.step(reply.json()["flow"], answer=answer)
        assert reply.status_code == 200, reply.text
    new_password = secret(f"New!{tag}-Pw9")
    done = pages.step(reply.json()["flow"], new_password=new_password)
    assert done.json()["status"] == "done", done.text
    assert admin.bind_ok(ann, new_password)
    assert "the data folder has room again" in stack.log_file.read_text()

    stack.stop()
    users, rows = _stored(stack, data)
    assert users[ann].enrollment is not None and users[bob].enrollment is not None
    assert users[ann].wrong_answers == 0  # the refused wrong answer was never counted
    assert users[ann].last_reset is not None
    assert (ann, "success", "password reset") in rows
    assert [r for r in rows if r[0] == bob and r[1] == "success"] != []
    # Nothing of this run, on either side of the full disk, holds a secret.
    assert_no_secrets([stack.instance, data], {PASSWORD, new_password, *answers})


def test_a_server_restarted_on_a_full_data_folder_serves_reads_and_recovers(
    stack: Stack, relay: TestClient, admin: Any, data: Path
) -> None:
    """systemd restarts the server while the disk is full: it starts, and behaves as above."""
    tag = random.token_hex(4)
    ann, bob = f"a{tag}", f"b{tag}"
    for user in (ann, bob):
        admin.create_user(user, PASSWORD)
    pages = Pages(relay, stack.domain)
    answers = [f"Answer {n} {tag}" for n in range(len(pages.questions))]
    assert pages.enroll(ann, answers).status_code == 200
    stack.stop()
    filler = fill(data)

    again = restart_stack(stack)  # raises, with the server's output, if it does not answer
    try:
        assert relay.get(f"{SITE}/meta").status_code == 200
        assert pages.enrolled(ann) is True
        assert _storage_full(pages.enroll(bob, answers))
        filler.unlink()
        assert pages.enroll(bob, answers).status_code == 200
        assert pages.enrolled(bob) is True
    finally:
        again.stop()
    users, _ = _stored(again, data)
    assert {ann, bob} <= set(users)
