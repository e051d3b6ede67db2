"""Saves enrollments from many threads and prints each username once `save` returned.

Run by test_crash.py, which kills it with SIGKILL part-way: every name printed was
acknowledged, so it must be found after the restart.
usage: crash_driver.py DATA_DIR ROUND COUNT
"""

from __future__ import annotations

import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pwreset.server.storage import AuditEvent, Database, UserRecord

KEY = b"k" * 32


def enrollment(name: str) -> dict[str, object]:
    return {
        "questions": ["first pet?", "first school?", "favourite teacher?"],
        "answers": [f"scrypt$salt{i}$hash-of-{name}-{i}" for i in range(3)],
    }


def main() -> None:
    data_dir, round_no, count = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    printing = threading.Lock()
    # A low threshold, so the kill also lands during compactions.
    db = Database.open(data_dir, data_key=KEY, compact_min_records=150)

    def enroll(i: int) -> None:
        name = f"user-{round_no}-{i}"
        db.users.save(
            UserRecord(
                "LAB",
                name,
                email=f"{name}@lab",
                enrollment=enrollment(name),
                last_enroll=time.time(),
            )
        )
        db.audit.append(AuditEvent("success", "enroll", name, "LAB", "enrolled"))
        with printing:
            sys.stdout.write(name + "\n")
            sys.stdout.flush()

    with ThreadPoolExecutor(max_workers=32) as pool:
        list(pool.map(enroll, range(count)))
    db.close()
    sys.stdout.write("done\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
