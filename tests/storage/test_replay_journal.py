"""The replay journal: what a server accepted comes back after a restart while it matters,
old segments go, a torn tail is dropped and damage is refused naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from pwreset.server.storage import StoreCorruptError
from pwreset.server.storage.maintenance import move
from pwreset.server.storage.replay_journal import REPLAY_DIR, ReplayJournal

WINDOW = 60.0


class _Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _id(n: int) -> bytes:
    return n.to_bytes(16, "big")


def test_accepted_ids_come_back_while_inside_the_window(tmp_path: Path) -> None:
    """security review, low: the ids a server accepted outlive the process."""
    clock = _Clock()
    journal = ReplayJournal(tmp_path, WINDOW, clock)
    assert journal.restored == []
    journal.record(_id(1), clock.now - 50)  # leaves the window in 10 s
    journal.record(_id(2), clock.now)
    journal.record(_id(3), clock.now + 50)  # a relay whose clock runs ahead
    journal.close()
    clock.now += 20
    again = ReplayJournal(tmp_path, WINDOW, clock)
    assert sorted(again.restored) == [(_id(2), 1_000_000.0), (_id(3), 1_000_050.0)]
    again.close()


def test_a_crash_keeps_what_was_recorded(tmp_path: Path) -> None:
    """record() returns once the id is durable: no close() is needed to find it again."""
    clock = _Clock()
    journal = ReplayJournal(tmp_path, WINDOW, clock)
    journal.record(_id(7), clock.now)
    # No close: the process died here.
    assert ReplayJournal(tmp_path, WINDOW, clock).restored == [(_id(7), clock.now)]


def test_old_segments_are_deleted(tmp_path: Path) -> None:
    clock = _Clock()
    journal = ReplayJournal(tmp_path, WINDOW, clock)
    for n in range(10):
        journal.record(_id(n), clock.now)
        clock.now += 30  # one segment per window of arrival time
    journal.close()
    # Only segments holding a timestamp still inside the window are kept.
    assert len(list(tmp_path.glob("*.log"))) <= 3
    restored = ReplayJournal(tmp_path, WINDOW, clock).restored
    assert sorted(restored) == [(_id(8), 1_000_240.0), (_id(9), 1_000_270.0)]
    assert len(list(tmp_path.glob("*.log"))) <= 3


def test_a_torn_tail_is_dropped(tmp_path: Path) -> None:
    clock = _Clock()
    journal = ReplayJournal(tmp_path, WINDOW, clock)
    journal.record(_id(1), clock.now)
    journal.record(_id(2), clock.now)
    journal.close()
    (segment,) = tmp_path.glob("*.log")
    segment.write_bytes(segment.read_bytes()[:-5])
    assert ReplayJournal(tmp_path, WINDOW, clock).restored == [(_id(1), clock.now)]


def test_damage_before_valid_records_is_refused(tmp_path: Path) -> None:
    clock = _Clock()
    journal = ReplayJournal(tmp_path, WINDOW, clock)
    for n in range(3):
        journal.record(_id(n), clock.now)
    journal.close()
    (segment,) = tmp_path.glob("*.log")
    data = bytearray(segment.read_bytes())
    data[60] ^= 0xFF  # inside the first request record
    segment.write_bytes(bytes(data))
    with pytest.raises(StoreCorruptError, match=str(segment)):
        ReplayJournal(tmp_path, WINDOW, clock)


def test_db_move_takes_the_journal_along(tmp_path: Path) -> None:
    from pwreset.server.storage import Database

    data, key = tmp_path / "data", b"k" * 32
    Database.open(data, data_key=key).close()
    journal = ReplayJournal(data / REPLAY_DIR, WINDOW)
    journal.record(_id(5), 1e18)  # far in the future: still inside any window
    journal.close()
    move(data, tmp_path / "moved")
    restored = ReplayJournal(tmp_path / "moved" / REPLAY_DIR, WINDOW).restored
    assert restored == [(_id(5), 1e18)]
