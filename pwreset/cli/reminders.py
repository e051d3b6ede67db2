"""`pwreset reminders [--dry-run]`: the enrollment reminders now, or who would get which.

The running server sends them itself once a day (`[enrollment_drive] hour`); this command
is for a preview (`--dry-run`: reads the directories and the database, sends and records
nothing, also while the server runs) or a round while the server is stopped.
"""

from __future__ import annotations

import argparse
from typing import Any

from pwreset.cli.notices import register_round, run_user_round
from pwreset.cli.options import config_of

_COMMAND = "pwreset reminders"


def register(sub: Any) -> None:
    register_round(sub, "reminders", "the enrollment reminders", "reminder", run)


def run(args: argparse.Namespace) -> int:
    from pwreset.server.enrollment_drive import EnrollmentDrive, Reminder

    config = config_of(args)
    maximum = config.enrollment_drive.max_reminders

    def described(reminder: Reminder) -> str:
        return f"reminder {reminder.number} of {maximum}, in {reminder.language!r}"

    return run_user_round(config, args, _COMMAND, "enrollment_drive", EnrollmentDrive,
                          "enrollment reminder", described)  # fmt: skip
