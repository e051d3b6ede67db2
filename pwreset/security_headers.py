"""The security headers every page and answer of pwreset's web processes carries: the relay
(`pwreset web`), the admin console (`pwreset console`), and the reverse-proxy configurations
of `pwreset deploy`, which send the relay's. One definition, so they cannot drift apart."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Every answer, whatever its content security policy.
BASE_HEADERS: dict[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
# Sent with HTTPS answers only (RFC 6797: a browser ignores it over plain HTTP).
HSTS = "max-age=31536000"


def with_csp(csp: str) -> dict[str, str]:
    """The base headers with this content security policy."""
    return {**BASE_HEADERS, "Content-Security-Policy": csp}


class SecurityHeaders:
    """ASGI middleware: `headers` on every HTTP answer (an answer's own value wins), HSTS over
    HTTPS, and `Cache-Control: no-store` where `no_store(path)` says so."""

    def __init__(
        self, app: ASGIApp, headers: Mapping[str, str], no_store: Callable[[str], bool]
    ) -> None:
        self.app = app
        self.headers = dict(headers)
        self.no_store = no_store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        no_store = self.no_store(scope.get("path", ""))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers.setdefault(name, value)
                if no_store:
                    headers.setdefault("Cache-Control", "no-store")
                if scope.get("scheme") == "https":
                    headers.setdefault("Strict-Transport-Security", HSTS)
            await send(message)

        await self.app(scope, receive, send_with_headers)
