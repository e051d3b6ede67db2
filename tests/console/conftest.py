"""An instance folder (`pwreset init`) with users and audit events written through the
storage API, the way the flows write them."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from pwreset.cli import main
from pwreset.protocol.keys import read_secret_key
from pwreset.server.storage import AuditEvent, UserRecord

from support.console_instance import Instance


def at(days_ago: int, hour: int = 10) -> float:
    day = datetime.now().replace(hour=hour, minute=0, second=0, microsecond=0)
    return (day - timedelta(days=days_ago)).timestamp()


USERS = [
    # name, domain, email, enrolled days ago, reset days ago
    ("alice", "LAB", "alice@lab.example", 10, 0),
    ("albert", "LAB", "albert@lab.example", 3, None),
    ("bob", "LAB", "", 1, 1),
    ("carol", "CORP", "carol@corp.example", 0, None),
    ("=cmd", "CORP", "evil@corp.example", 2, None),
]

# On the day of a reset: a wrong answer at 9, then the reset at 11.
RESET_EVENTS = (("failure", "incorrect answer", 9), ("success", "password reset", 11))


@pytest.fixture
def instance(tmp_path: Path) -> Instance:
    root = tmp_path / "inst"
    assert main(["init", str(root)]) == 0
    inst = Instance(
        root, root / "pwreset.toml", root / "data", read_secret_key(root / "keys/data.key")
    )
    with inst.open() as db:
        for name, domain, email, enrolled, reset in USERS:
            db.users.save(
                UserRecord(
                    domain,
                    name,
                    email=email,
                    enrollment={"questions": ["q1", "q2"], "answers": ["h1", "h2"]},
                    last_enroll=at(enrolled),
                    last_reset=at(reset) if reset is not None else None,
                )
            )
            db.audit.append(
                AuditEvent(
                    "success", "enroll", name, domain, "enrolled", ip="10.0.0.5", time=at(enrolled)
                )
            )
            for outcome, event, hour in RESET_EVENTS if reset is not None else ():
                db.audit.append(
                    AuditEvent(
                        outcome, "reset", name, domain, event, ip="10.0.0.6", time=at(reset, hour)
                    )
                )
        db.audit.append(
            AuditEvent("success", "change", "dave", "LAB", "password changed", time=at(0, 8))
        )
    return inst
