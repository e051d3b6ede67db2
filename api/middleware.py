"""Headers every response carries (order of the list in app.py: outermost first)."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pwreset.api.client_ip import forwarded_proto
from pwreset.api.problems import ProblemError, problem_response
from pwreset.api.settings import RelaySettings

# The built pages use no inline script or style, so a strict policy holds.
_CSP = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_api = "/api/" in scope.get("path", "") or scope.get("path") == "/healthz"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "no-referrer")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Content-Security-Policy", _CSP)
                if is_api:
                    headers.setdefault("Cache-Control", "no-store")
                if scope.get("scheme") == "https":
                    headers.setdefault("Strict-Transport-Security", "max-age=31536000")
            await send(message)

        await self.app(scope, receive, send_with_headers)


class HttpsOnly:
    """With `[web] require_https`: pages over plain HTTP are redirected to https://, API
    calls refused (a password must never have crossed in clear, so no redirect for them)."""

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
        if request.method in ("GET", "HEAD") and "/api/" not in request.url.path:
            response: Response = RedirectResponse(str(request.url.replace(scheme="https")), 308)
        else:
            response = problem_response(ProblemError("https_required"))
        await response(scope, receive, send)


def _is_https(request: Request, settings: RelaySettings) -> bool:
    return request.url.scheme == "https" or forwarded_proto(request, settings) == "https"
