"""What the console's Reports form may ask for: a known report, bounded days and texts (the
page itself runs in Chromium: tests/browser/test_console.py)."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request

import pwreset.cli  # noqa: F401  (first: the console's modules are loaded through the CLI)
from pwreset.console.web.reports import report_query


def _query(**params: str) -> dict[str, str]:
    scope = {"type": "http", "method": "GET", "path": "/reports", "headers": [],
             "query_string": urlencode(params).encode()}  # fmt: skip
    return report_query(Request(scope))


def test_an_unknown_report_or_days_out_of_range_are_not_run() -> None:
    assert _query(name="locked", days="30")["name"] == "locked"
    assert _query(name="../../etc/passwd")["name"] == ""
    for days in ("0", "367", "-1", "7e2", "x"):
        assert _query(name="activity", days=days)["days"] == "7"
    assert _query(name="activity", days="366")["days"] == "366"
    long = _query(name="locked", group="g" * 5000, ou="o" * 5000, domain="d" * 5000)
    assert {len(long[k]) for k in ("group", "ou", "domain")} == {255}
