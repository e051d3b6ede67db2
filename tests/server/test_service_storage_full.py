"""What the service answers when storage is full (unit level; the real stack is in
tests/reliability/test_disk_full.py): a request that may write is refused with storage_full
before its flow runs, whether the data folder is below its reserve or the replay journal
cannot record it; a read is served anyway; and a write that runs out of space inside a flow
is answered storage_full, not server_error."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from pwreset.protocol.keys import Keyring, generate_private_key
from pwreset.protocol.messages import Reply, Request
from pwreset.protocol.sealing import open_reply, seal_request
from pwreset.server import service as service_module
from pwreset.server.service import Flows, ResetService
from pwreset.server.storage import Database, StorageFullError
from pwreset.server.storage.replay_journal import ReplayJournal

from support.tmpfs import fill, small_tmpfs

KEY = b"\x03" * 32


class _Flows:
    """Stands in for the flows: records what it was asked to run."""

    def __init__(self, db: Database) -> None:
        self.context = SimpleNamespace(db=db)
        self.ran: list[str] = []

    def dispatch(self, request: Request) -> Reply:
        self.ran.append(request.op)
        return Reply(request.request_id, result={"ok": True})


@pytest.fixture
def disks(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """The data folder's disk and the replay journal's, so each can be filled alone."""
    with (
        small_tmpfs(tmp_path / "data", 8 << 20) as data,
        small_tmpfs(tmp_path / "replay", 1 << 20) as replay,
    ):
        yield data, replay


def _service(flows: Any, journal: ReplayJournal) -> ResetService:
    return ResetService(
        flows,
        Keyring([generate_private_key()]),
        relay_key=None,
        allow_unauthenticated=True,
        journal=journal,
        clock_skew=60,
        max_datagram=32768,
        workers=1,
    )


def _code(reply: Reply) -> str:
    return reply.failure.code if reply.failure else "ok"


def _ask(service: ResetService, op: str) -> str:
    request = Request(op=op, vdir="pwreset", client_ip="", body={})
    _, reply_key = seal_request(request, generate_private_key().public_key())
    sealed = service._run(request, reply_key, request.request_id, "127.0.0.1")
    return _code(open_reply(sealed, reply_key))


def test_below_the_reserve_writes_are_refused_and_reads_served(
    disks: tuple[Path, Path],
) -> None:
    data, replay = disks
    with Database.open(data / "db", data_key=KEY) as db:
        flows = _Flows(db)
        service = _service(flows, ReplayJournal(replay / "ids", 60.0))
        fill(data)

        answers = {op: _ask(service, op) for op in ("enroll", "reset.step", "change", "meta")}

        assert answers == {
            "enroll": "storage_full",
            "reset.step": "storage_full",
            "change": "storage_full",
            "meta": "ok",
        }
        assert flows.ran == ["meta"]
        assert _ask(service, "enrollment_status") == "ok"
        (data / "filler").unlink()
        assert _ask(service, "enroll") == "ok"


def test_a_replay_journal_without_room_refuses_writes_and_serves_reads(
    disks: tuple[Path, Path],
) -> None:
    data, replay = disks
    with Database.open(data / "db", data_key=KEY) as db:
        flows = _Flows(db)
        fill(replay)
        service = _service(flows, ReplayJournal(replay / "ids", 60.0))

        assert _ask(service, "unlock.start") == "storage_full"  # was server_error
        assert _ask(service, "ping") == "ok"
        assert flows.ran == ["ping"]
        (replay / "filler").unlink()
        assert _ask(service, "unlock.start") == "ok"


def test_a_flow_that_runs_out_of_space_answers_storage_full(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def full(ctx: Any, request: Request) -> Mapping[str, Any]:
        raise StorageFullError(Path("/data/users/journal.00000001"))

    monkeypatch.setitem(service_module.OPERATIONS, "enroll", full)
    context = SimpleNamespace(config=SimpleNamespace(sites={"pwreset": None}))
    flows = Flows(context)  # type: ignore[arg-type]

    reply = flows.dispatch(Request(op="enroll", vdir="pwreset", client_ip="", body={}))

    assert reply.failure is not None and reply.failure.code == "storage_full"
