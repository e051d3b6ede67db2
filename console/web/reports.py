"""The console's Reports page: the server's reports (`pwreset.server.reports`, as `pwreset
report` runs them) on screen, narrowed by domain, container, group and days, and as CSV or
HTML files. Admins only: three reports read the whole directory.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from pwreset.config.report_settings import REPORT_NAMES
from pwreset.config.schema import Config
from pwreset.console.command import open_view
from pwreset.console.web.sessions import Session
from pwreset.server.reports import Report, Reports, Scope, rendered

if TYPE_CHECKING:  # the app imports this module
    from pwreset.console.web.app import Console

FORMATS = {"csv": "text/csv; charset=utf-8", "html": "text/html; charset=utf-8"}
_MAX_TEXT = 255  # a domain, a container DN or a group typed into the form


def report_query(request: Request) -> dict[str, str]:
    """The form's fields; an unknown report or a day count out of range is dropped."""
    params = request.query_params
    name = params.get("name", "")
    days = params.get("days", "7")
    return {
        "name": name if name in REPORT_NAMES else "",
        "domain": params.get("domain", "")[:_MAX_TEXT],
        "ou": params.get("ou", "")[:_MAX_TEXT],
        "group": params.get("group", "")[:_MAX_TEXT],
        "days": days if days.isdigit() and 1 <= int(days) <= 366 else "7",
    }


def run_report(config: Config, query: dict[str, str], now: float) -> Report:
    """The report the query names, over every configured directory and the store (read
    only, also while the server runs)."""
    from pwreset.server.directory import open_directory

    directories = {}
    for index in range(len(config.domains)):
        directory = open_directory(config, index)
        directories[directory.name] = directory
    scope = Scope(query["domain"], query["ou"], query["group"], int(query["days"]))
    db = open_view(config, with_key=True)
    try:
        return Reports(config, directories, db.users, db.audit).run(query["name"], scope, now)
    finally:
        db.close()


async def page(console: Console, request: Request, session: Session) -> Response:
    query = report_query(request)
    report = None
    if query["name"]:
        report = await run_in_threadpool(run_report, console.config, query, console.clock())
    return console.page(
        "reports.html",
        session=session,
        query=query,
        names=REPORT_NAMES,
        domains=[d.name for d in console.config.domains],
        report=report,
        exports={fmt: f"/reports/export.{fmt}?{urlencode(query)}" for fmt in FORMATS},
    )


async def export(console: Console, request: Request, session: Session) -> Response:
    fmt, query = request.path_params["format"], report_query(request)
    if fmt not in FORMATS or not query["name"]:
        return console.page("message.html", 404, session=session, text="filter.bad")
    now = console.clock()
    report = await run_in_threadpool(run_report, console.config, query, now)
    detail = f"exported {len(report.rows)} {report.name} rows as {fmt.upper()} ({urlencode(query)})"
    await run_in_threadpool(console.audit, session, request, detail[:500])
    stamp = time.strftime("%Y-%m-%d", time.localtime(now))
    return Response(
        rendered(report, fmt, now),
        media_type=FORMATS[fmt],
        headers={
            "Content-Disposition": f'attachment; filename="{report.name}-{stamp}.{fmt}"',
        },
    )
