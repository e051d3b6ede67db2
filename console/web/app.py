"""`pwreset console`: the admin console in the browser, a Starlette app on the internal side.

Every page but the sign-in needs a live session (`sessions.py`); every POST carries the
session's synchronizer token (the sign-in form a token bound to a pre-session cookie), so a
page elsewhere cannot make an admin's browser act. Whatever an admin does is audited with
their name (source `console`), written where the store allows (`admin_requests.py`).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from pwreset.config.schema import Config
from pwreset.console import activity
from pwreset.console.admin_requests import lift_lockout, record
from pwreset.console.audit import AUDIT
from pwreset.console.command import ConsoleError, open_view
from pwreset.console.exports import render_export
from pwreset.console.users import USERS, all_rows
from pwreset.console.web import helpdesk, languages, reports
from pwreset.console.web.messages import LANGUAGES
from pwreset.console.web.sessions import ADMIN, Clock, Session, Sessions, SigninThrottle
from pwreset.console.web.signin import (
    SIGNED_IN,
    SIGNED_OUT,
    THROTTLED,
    Attempt,
    SigninError,
    directory_signin,
)
from pwreset.protocol.client import ServerUnreachable
from pwreset.security_headers import SecurityHeaders, with_csp
from pwreset.server.storage import AuditEvent, StorageError
from pwreset.server.storage.query import AUDIT_COLUMNS, USER_COLUMNS, FilterError

log = logging.getLogger("pwreset.console.web")

COOKIE = "pwreset_console"
PRE_COOKIE = "pwreset_console_signin"
MAX_ROWS = 500  # shown on a page; an export has them all
_HERE = Path(__file__).parent
# No script at all; the one stylesheet is the console's own.
_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def _security_headers(app: ASGIApp) -> SecurityHeaders:
    """The headers `pwreset web` sends, a stricter CSP, and no caching of any page."""
    return SecurityHeaders(app, with_csp(_CSP), no_store=lambda path: True)


class Console:
    """The app's state: the configuration, sessions, throttle and templates."""

    def __init__(self, config: Config, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self.sessions = Sessions(config.console, clock)
        self.throttle = SigninThrottle(config.console, clock)
        self.key = secrets.token_bytes(32)  # binds the sign-in form's token to its cookie
        self.templates = Environment(
            loader=FileSystemLoader(_HERE / "templates"),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates.globals.update(
            t=languages.t,
            show=languages.show,
            cell=languages.cell,
            day=languages.day,
            number=languages.number,
            direction=languages.direction,
            autonym=languages.autonym,
            chosen=languages.current,
            languages=LANGUAGES,
            user_path=_user_path,
            helpdesk_path=helpdesk.helpdesk_path,
        )

    # --- helpers ----------------------------------------------------------------------------

    def page(self, name: str, status: int = 200, **values: Any) -> HTMLResponse:
        html = self.templates.get_template(name).render(**values)
        return HTMLResponse(html, status_code=status)

    def session(self, request: Request) -> Session | None:
        return self.sessions.find(request.cookies.get(COOKIE))

    def audit(self, session: Session, request: Request, event: str, **target: str) -> None:
        """An admin action's audit row, with the admin's name."""
        user, domain = target.get("user", session.username), target.get("domain", session.domain)
        ip, by = _address(request), session.admin_name
        self._write(AuditEvent("success", "console", user, domain, event, ip, by))

    def audit_refusal(self, attempt: Attempt, request: Request, event: str) -> None:
        """A refused sign-in's audit row: the name tried and the address, never the password."""
        ip, by = _address(request), attempt.who
        self._write(AuditEvent("failure", "console", attempt.name, attempt.domain, event, ip, by))

    def _write(self, row: AuditEvent) -> None:
        """Through the server (`admin_requests.record`); a failure is logged, never shown."""
        try:
            record(self.config, row)
        except (ConsoleError, ServerUnreachable, StorageError) as exc:
            log.error("could not write the console's audit row %r: %s", row.event, exc)

    def signin_token(self, pre: str) -> str:
        return hmac.new(self.key, pre.encode(), hashlib.sha256).hexdigest()


_MAX_FORM = 16384  # the console's forms are a few fields


async def _form(request: Request) -> dict[str, str]:
    """An url-encoded form (the only kind the console's pages send), size-limited; the
    first value of each field."""
    if request.headers.get("content-type", "").split(";")[0].strip() != (
        "application/x-www-form-urlencoded"
    ):
        return {}
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > _MAX_FORM:
            return {}
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[0] for name, values in fields.items()}


def _use_language(request: Request, session: Session | None, asked: str | None = None) -> str:
    """The request's language (see `languages.choose`); a choice from the switcher is
    remembered in the session."""
    asked = request.query_params.get(languages.QUERY) or asked
    remembered = session.language if session is not None else None
    language = languages.choose(asked, remembered, request.headers.get("accept-language", ""))
    if session is not None and languages.offered(asked):
        session.language = language
    # The path as the browser sent it (still percent-encoded), so the switcher's links lead
    # back to the same page whatever a name in it holds.
    raw = request.scope.get("raw_path") or quote(request.url.path).encode()
    path = "/" + raw.decode("latin-1").lstrip("/")
    languages.use(language, path, request.query_params.multi_items())
    return language


def _address(request: Request) -> str:
    return request.client.host if request.client else ""


Handler = Callable[[Console, Request, Session], Awaitable[Response]]


def _needs(role: str | None, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """A page for a signed-in user with `role` (None: any console role). A POST must carry
    the session's token."""

    async def endpoint(request: Request) -> Response:
        console: Console = request.app.state.console
        session = console.session(request)
        _use_language(request, session)
        if session is None:
            if request.method == "POST":
                return console.page("signin.html", 403, error="signin.expired", token="")
            return RedirectResponse("/signin?expired=1", 303)
        if request.method == "POST":
            request.state.form = await _form(request)  # read once: the handler's fields too
            given = request.state.form.get("csrf", "")
            if not session.csrf_ok(given):
                log.warning(
                    "refused a console POST without a valid token from %s", _address(request)
                )
                return console.page("message.html", 403, session=session, text="csrf.refused")
        if role is not None and role not in session.roles:
            return console.page("message.html", 403, session=session, text="forbidden")
        try:
            return await handler(console, request, session)
        except (ConsoleError, StorageError) as exc:  # e.g. the data on PostgreSQL: said, no 500
            log.error("console page %s failed: %s", request.url.path, exc)
            return console.page("message.html", 503, session=session, text="error.store")

    return endpoint


# --- sign-in ---------------------------------------------------------------------------------


async def signin_page(request: Request) -> Response:
    console: Console = request.app.state.console
    _use_language(request, None)
    pre = secrets.token_urlsafe(32)
    error = "signin.expired" if request.query_params.get("expired") else ""
    response = console.page("signin.html", error=error, token=console.signin_token(pre))
    response.set_cookie(PRE_COOKIE, pre, httponly=True, secure=True, samesite="strict")
    return response


async def signin(request: Request) -> Response:
    console: Console = request.app.state.console
    form = await _form(request)
    language = _use_language(request, None, form.get("lang"))
    pre = request.cookies.get(PRE_COOKIE, "")
    if not pre or not hmac.compare_digest(form.get("csrf", ""), console.signin_token(pre)):
        return console.page("signin.html", 403, error="csrf.refused", token="")
    typed = form.get("username", "").strip()[:300]
    password = form.get("password", "")[:512]
    address = _address(request)
    token = console.signin_token(pre)
    if not console.throttle.allowed(typed, address):
        log.warning("console sign-in throttled for %r from %s", typed, address)
        if console.throttle.first_refusal(typed, address):
            attempt = Attempt.of(console.config, typed)
            await run_in_threadpool(console.audit_refusal, attempt, request, THROTTLED)
        return console.page("signin.html", 429, error="signin.throttled", token=token)
    try:
        username, domain, roles = await run_in_threadpool(
            directory_signin, console.config, typed, password
        )
    except SigninError as exc:
        console.throttle.failed(typed, address)
        log.info("console sign-in refused for %r from %s (%s)", typed, address, exc.audit_text)
        attempt = Attempt.of(console.config, typed)
        await run_in_threadpool(console.audit_refusal, attempt, request, exc.audit_text)
        return console.page("signin.html", 401, error="signin.failed", token=token)
    session = console.sessions.start(username, domain, username, roles, language)
    await run_in_threadpool(console.audit, session, request, SIGNED_IN)
    response = RedirectResponse("/users", 303)
    response.set_cookie(COOKIE, session.id, httponly=True, secure=True, samesite="strict")
    response.delete_cookie(PRE_COOKIE)
    return response


async def _signout(console: Console, request: Request, session: Session) -> Response:
    console.sessions.end(session.id)
    await run_in_threadpool(console.audit, session, request, SIGNED_OUT)
    response = RedirectResponse("/signin", 303)
    response.delete_cookie(COOKIE)
    return response


# --- users -----------------------------------------------------------------------------------


def _filters(**values: Any) -> argparse.Namespace:
    """What the command-line tables' options would hold (`pwreset.console.table.Table`)."""
    base: dict[str, Any] = {"where": [], "date": None, "start": None, "stop": None, "sort": []}
    base.update(values)
    return argparse.Namespace(**base)


def _choice(value: str | None) -> str:
    return value if value in ("yes", "no") else ""


def _user_rows(config: Config, query: dict[str, str]) -> list[dict[str, Any]]:
    where = [f"{name}={query[name]}" for name in ("enrolled", "locked_out") if query[name]]
    args = _filters(
        where=where,
        filter_domain=query["domain"] or None,
        date_column="last_enroll",
        sort=["domain", "username"],
    )
    rows = USERS.select(all_rows(config), args)
    search = query["q"].casefold()
    if search:
        rows = [r for r in rows if search in f"{r['username']} {r.get('email') or ''}".casefold()]
    return rows


def _user_query(request: Request) -> dict[str, str]:
    params = request.query_params
    return {
        "domain": params.get("domain", "")[:255],
        "enrolled": _choice(params.get("enrolled")),
        "locked_out": _choice(params.get("locked")),
        "q": params.get("q", "")[:256],
    }


async def _users(console: Console, request: Request, session: Session) -> Response:
    query = _user_query(request)
    rows = await run_in_threadpool(_user_rows, console.config, query)
    return console.page(
        "users.html",
        session=session,
        query=query,
        rows=rows[:MAX_ROWS],
        total=len(rows),
        columns=[c for c in USER_COLUMNS if c.shown],
        domains=[d.name for d in console.config.domains],
        export=_export_link("users", request),
    )


def _export_link(what: str, request: Request) -> str:
    query = request.url.query
    return f"/export/{what}.csv" + (f"?{query}" if query else "")


def _user_detail(config: Config, domain: str, username: str) -> tuple[Any, list[dict[str, Any]]]:
    who = (domain.casefold(), username.casefold())
    record_row = next(
        (r for r in all_rows(config) if (r["domain"].casefold(), r["username"].casefold()) == who),
        None,
    )
    events = [
        e
        for e in AUDIT.load(config, _filters())
        if (e["domain"].casefold(), e["user"].casefold()) == who
    ]
    return record_row, events[-MAX_ROWS:]


async def _user(console: Console, request: Request, session: Session) -> Response:
    domain, username = request.path_params["domain"], request.path_params["username"]
    row, events = await run_in_threadpool(_user_detail, console.config, domain, username)
    return console.page(
        "user.html",
        session=session,
        domain=domain,
        username=username,
        row=row,
        user_columns=USER_COLUMNS,
        events=events,
        columns=[c for c in AUDIT_COLUMNS if c.shown],
        done=request.query_params.get("done", ""),
    )


async def _lift(console: Console, request: Request, session: Session) -> Response:
    domain, username = request.path_params["domain"], request.path_params["username"]
    if console.config.domain(domain) is None:
        return console.page("message.html", 404, session=session, text="user.not_enrolled")
    try:
        lifted = await run_in_threadpool(
            lift_lockout, console.config, domain, username, session.admin_name
        )
    except (ConsoleError, ServerUnreachable) as exc:
        log.error("console: lifting the lockout of %s\\%s failed: %s", domain, username, exc)
        return console.page("message.html", 503, session=session, text="error.server")
    done = "lifted" if lifted else "not_locked"
    return RedirectResponse(f"{_user_path(domain, username)}?done={done}", 303)


def _user_path(domain: str, username: str) -> str:
    return f"/users/{quote(domain, safe='')}/{quote(username, safe='')}"


# --- audit -----------------------------------------------------------------------------------


def _audit_query(request: Request) -> dict[str, str]:
    params = request.query_params
    return {name: params.get(name, "")[:256] for name in ("from", "to", "user", "type", "source")}


def _audit_rows(config: Config, query: dict[str, str]) -> list[dict[str, Any]]:
    args = _filters(
        filter_user=query["user"] or None,
        filter_type=query["type"] or None,
        filter_source=query["source"] or None,
        start=query["from"] or None,
        stop=query["to"] or None,
    )
    return AUDIT.load(config, args)


async def _audit(console: Console, request: Request, session: Session) -> Response:
    query = _audit_query(request)
    error = ""
    try:
        rows = await run_in_threadpool(_audit_rows, console.config, query)
    except FilterError as exc:
        rows, error = [], str(exc)
    return console.page(
        "audit.html",
        session=session,
        query=query,
        rows=rows[-MAX_ROWS:][::-1],
        total=len(rows),
        columns=[c for c in AUDIT_COLUMNS if c.shown],
        error=error,
        export=_export_link("audit", request),
        user_path=_user_path,
    )


# --- activity ---------------------------------------------------------------------------------


def _activity(config: Config, days: int, today: date) -> activity.Activity:
    first = today - timedelta(days=days - 1)
    since = datetime(first.year, first.month, first.day).timestamp()
    db = open_view(config)
    try:
        return activity.tally(db.audit.query(since=since), first, today)
    finally:
        db.close()


async def _activity_page(console: Console, request: Request, session: Session) -> Response:
    try:
        days = min(max(int(request.query_params.get("days", "14")), 1), 366)
    except ValueError:
        days = 14
    today = datetime.fromtimestamp(console.clock()).date()
    counts = await run_in_threadpool(_activity, console.config, days, today)
    labels = {flow: languages.t(f"flow.{flow}") for flow in activity.FLOWS}
    svg = activity.svg_chart(counts, languages.t("activity.chart"), labels)
    chart = Markup(svg)  # noqa: S704 - svg_chart escapes every text
    return console.page(
        "activity.html",
        session=session,
        days=days,
        chart=chart,
        counts=counts,
        flows=activity.FLOWS,
    )


# --- exports ----------------------------------------------------------------------------------


async def _export(console: Console, request: Request, session: Session) -> Response:
    what = request.path_params["what"]
    if what not in ("users", "audit"):
        return console.page("message.html", 404, session=session, text="filter.bad")
    if what == "users":
        rows = await run_in_threadpool(_user_rows, console.config, _user_query(request))
        columns, title = [c for c in USER_COLUMNS if c.shown], USERS.title
    else:
        try:
            rows = await run_in_threadpool(_audit_rows, console.config, _audit_query(request))
        except FilterError:
            return console.page("message.html", 400, session=session, text="filter.bad")
        columns, title = list(AUDIT_COLUMNS), AUDIT.title
    detail = f"exported {len(rows)} {what} rows as CSV ({urlencode(request.query_params)})"
    await run_in_threadpool(console.audit, session, request, detail[:500])
    return Response(
        render_export(columns, rows, "csv", title),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="pwreset-{what}.csv"'},
    )


async def stylesheet(request: Request) -> Response:
    return Response((_HERE / "static" / "console.css").read_bytes(), media_type="text/css")


async def home(request: Request) -> Response:
    return RedirectResponse("/users", 303)


def create_console_app(config: Config, *, clock: Clock = time.time) -> Starlette:
    if not config.domains:
        raise ConsoleError("the console signs admins in through a directory: no [[domains]]")
    if config.console.domain and config.domain(config.console.domain) is None:
        raise ConsoleError(f"console.domain {config.console.domain!r} names no [[domains]] entry")
    if not (config.console.admin_groups or config.console.helpdesk_groups):
        raise ConsoleError(
            "console.admin_groups and console.helpdesk_groups are both empty: nobody could sign in"
        )
    routes = [
        Route("/", home),
        Route("/console.css", stylesheet),
        Route("/signin", signin_page, methods=["GET"]),
        Route("/signin", signin, methods=["POST"]),
        Route("/signout", _needs(None, _signout), methods=["POST"]),
        # The help desk looks callers up and helps them; the rest is the admins'.
        Route("/users", _needs(None, _users)),
        Route("/users/{domain}/{username}", _needs(None, _user)),
        Route("/users/{domain}/{username}/lift", _needs(ADMIN, _lift), methods=["POST"]),
        # The help desk's page of a caller: verify, then act (the server refuses the writes
        # until the caller is verified).
        Route("/helpdesk/{domain}/{username}", _needs(None, helpdesk.page)),
        Route(
            "/helpdesk/{domain}/{username}/{action}",
            _needs(None, helpdesk.act),
            methods=["POST"],
        ),
        Route("/audit", _needs(ADMIN, _audit)),
        Route("/activity", _needs(ADMIN, _activity_page)),
        Route("/reports", _needs(ADMIN, reports.page)),
        Route("/reports/export.{format:str}", _needs(ADMIN, reports.export)),
        Route("/export/{what:str}.csv", _needs(ADMIN, _export)),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(_security_headers)])
    app.state.console = Console(config, clock)
    return app
