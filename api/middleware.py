"""What every request and response goes through (order of the list in app.py: outermost
first): its request id, the security headers, the HTTPS rule."""

from __future__ import annotations

import html
from urllib.parse import quote

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pwreset.api.client_ip import forwarded_proto, from_trusted_proxy
from pwreset.api.problems import ProblemError, problem_response
from pwreset.api.settings import RelaySettings
from pwreset.protocol.codes import error_kind
from pwreset.protocol.trace import current_trace, new_trace_id, valid_trace_id
from pwreset.security_headers import SecurityHeaders, with_csp

# The built pages use no inline script or style, so a strict policy holds. The reverse-proxy
# configurations of `pwreset deploy` send these same headers with the pages they serve.
_CSP = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = with_csp(_CSP)


class RequestIds:
    """Gives each request its id (pwreset.protocol.trace): the X-Request-ID of a trusted
    proxy when it has the accepted form, else a new one. It is `current_trace` while the
    request is served, so the relay's log lines (the access log too) and the sealed request
    carry it, and the response returns it as X-Request-ID. A client's own X-Request-ID is
    never taken: anyone could make their requests look like someone else's in the logs."""

    def __init__(self, app: ASGIApp, settings: RelaySettings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        given = None
        if from_trusted_proxy(request, self.settings):
            values = request.headers.getlist("x-request-id")
            given = valid_trace_id(values[0]) if len(values) == 1 else None
        trace = given or new_trace_id()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["X-Request-ID"] = trace
            await send(message)

        token = current_trace.set(trace)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            current_trace.reset(token)


def security_headers(app: ASGIApp) -> SecurityHeaders:
    """The relay's headers; API answers (and /healthz) are never cached."""
    return SecurityHeaders(app, SECURITY_HEADERS, no_store=_is_api)


def _is_api(path: str) -> bool:
    return "/api/" in path or path == "/healthz"


class HttpsOnly:
    """With `[web] require_https`: pages over plain HTTP are redirected to `[web] public_url`,
    API calls refused (a password must never have crossed in clear, so no redirect for them).

    The redirect never comes from the Host header, which the client writes: a forged Host
    would send users (or a cache's copy of the reply) elsewhere. Without public_url, pages
    get an error page saying to use https:// instead."""

    def __init__(self, app: ASGIApp, settings: RelaySettings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.settings.require_https:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        if _is_https(request, self.settings):
            await self.app(scope, receive, send)
            return
        response: Response
        if request.method not in ("GET", "HEAD") or "/api/" in request.url.path:
            response = problem_response(ProblemError("https_required"))
        elif self.settings.public_url:
            response = RedirectResponse(_public_target(scope, self.settings.public_url), 308)
        else:
            response = HTMLResponse(_HTTPS_PAGE, status_code=403)
        await response(scope, receive, send)


_HTTPS_PAGE = (
    '<!doctype html><html lang="en"><meta charset="utf-8"><title>HTTPS required</title>'
    f"<p>{html.escape(error_kind('https_required').detail)}</p></html>"
)


def _public_target(scope: Scope, public_url: str) -> str:
    """The same page under the configured public address (path and query kept)."""
    target = public_url + quote(scope["path"])
    query = scope.get("query_string", b"").decode("latin-1")
    return f"{target}?{query}" if query else target


def _is_https(request: Request, settings: RelaySettings) -> bool:
    return request.url.scheme == "https" or forwarded_proto(request, settings) == "https"
