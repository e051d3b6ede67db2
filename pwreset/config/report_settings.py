"""`[report_mail]`: the admins' reports, mailed on a schedule as CSV and/or HTML files."""

from __future__ import annotations

import re
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator

ReportName = Literal["not-enrolled", "expiring", "locked", "activity", "failed-by-address"]
REPORT_NAMES: tuple[str, ...] = get_args(ReportName)
ReportFormat = Literal["csv", "html"]
Weekday = Literal["", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                  "sunday"]  # fmt: skip
WEEKDAYS: tuple[str, ...] = get_args(Weekday)[1:]

_ADDRESS = re.compile(r"^[^@\s;,<>\"]+@[^@\s;,<>\"]+$")


class ReportMailSettings(BaseModel):
    """The reports mailed to admins: which, to whom, as which files, when."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    to: list[str] = Field(default=[], max_length=50)
    reports: list[ReportName] = Field(
        default=["not-enrolled", "expiring", "locked", "activity", "failed-by-address"],
        min_length=1,
    )
    attach: list[ReportFormat] = Field(default=["csv", "html"], min_length=1)
    # The hour of the day (the server's local time) the mail goes out.
    hour: int = Field(default=7, ge=0, le=23)
    # "" = every day; else once a week on that day.
    weekday: Weekday = ""
    # How many days the activity reports look back and `expiring` looks ahead.
    days: int = Field(default=7, ge=1, le=366)

    @field_validator("to")
    @classmethod
    def _addresses(cls, to: list[str]) -> list[str]:
        for address in to:
            if not _ADDRESS.match(address.strip()):
                raise ValueError(f"{address!r} is not an e-mail address (name@example.org)")
        return [a.strip() for a in to]

    @field_validator("reports", "attach")
    @classmethod
    def _distinct(cls, names: list[str]) -> list[str]:
        if len(set(names)) != len(names):
            raise ValueError("an entry is listed twice")
        return names
