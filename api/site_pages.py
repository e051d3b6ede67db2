"""The built pages `pwreset web --serve-site` serves: the site folder as static files, and a
visitor who arrives without having chosen a language sent to the pages in the language
their browser asks for (`Accept-Language`).

The page script remembers a choice made with the language switch in the browser, where the
server cannot see it, and applies it (then `?lang=`, then the browser's languages) by moving
to that language's page. So the server only decides where the page script has not yet had
its say: on a site's address (`/hr/`, which no page links or moves to) and on a main-language
page opened from outside the site (`Sec-Fetch-Site` other than `same-origin`). A move made by
the page script or a link between pages is never redirected again: an explicit choice always
wins, and the server and the page can never send a browser back and forth.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import quote

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

from pwreset.accept_language import negotiate, parse_accept_language

# Whether a page request is redirected depends on these request headers; a cache must not
# hand one browser's answer to another, and a shared cache keeps none of them.
VARY = "Accept-Language, Sec-Fetch-Site"
CACHE_CONTROL = "private, no-cache"
# Sec-Fetch-Site values of a navigation that did not start on one of the site's own pages.
_FROM_OUTSIDE = frozenset({"none", "cross-site", "same-site"})


class SitePages:
    """ASGI app for the site folder; `languages` maps each site to its page languages, the
    main one (whose pages sit at the site root) first."""

    def __init__(self, directory: Path, languages: Mapping[str, Sequence[str]]) -> None:
        self.directory = directory
        self.languages = languages
        self.files = StaticFiles(directory=directory, html=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        folder = self._folder_without_slash(scope)
        if folder is not None:
            # StaticFiles would build this redirect from the Host header, which the client
            # writes: a forged one would send the browser, or a cache, to another host.
            query = scope.get("query_string", b"").decode("latin-1")
            location = quote(f"/{folder}/") + (f"?{query}" if query else "")
            await RedirectResponse(location, status_code=307)(scope, receive, send)
            return
        page = self._negotiable_page(scope)
        if page is None:
            await self.files(scope, receive, send)
            return
        site, name = page
        target = self._redirect_target(Request(scope), site, name)
        if target is not None:
            response = RedirectResponse(target, status_code=302)
            _mark_negotiated(response.headers)
            await response(scope, receive, send)
            return

        async def send_negotiated(message: Message) -> None:
            if message["type"] == "http.response.start":
                _mark_negotiated(MutableHeaders(scope=message))
            await send(message)

        await self.files(scope, receive, send_negotiated)

    def _folder_without_slash(self, scope: Scope) -> str | None:
        """The folder (relative to the site folder) a GET or HEAD names without its final
        slash, or None."""
        path: str = scope["path"]
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            return None
        if path.endswith("/"):
            return None
        relative = posixpath.normpath(path).lstrip("/")
        if relative in ("", ".") or relative.startswith(".."):
            return None
        if not (self.directory / relative).is_dir():
            return None
        return relative

    def _negotiable_page(self, scope: Scope) -> tuple[str, str] | None:
        """(site, page) when the request is for a site's address (page "") or one of its
        main-language pages, whose answer depends on the browser's languages."""
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            return None
        site, slash, name = scope["path"].removeprefix("/").partition("/")
        if len(self.languages.get(site, ())) < 2 or not slash or "/" in name:
            return None
        if name == "" or (name.endswith(".html") and (self.directory / site / name).is_file()):
            return site, name
        return None

    def _redirect_target(self, request: Request, site: str, name: str) -> str | None:
        """The page in the browser's language, when the server decides and that is not the
        main language; None to serve the page asked for."""
        if "lang" in request.query_params:
            return None  # a link that names the language: the page script follows it
        fetch_site = request.headers.get("sec-fetch-site")
        at_address = name == ""
        if fetch_site == "same-origin" or not (at_address or fetch_site in _FROM_OUTSIDE):
            return None
        offered = self.languages[site]
        wanted = parse_accept_language(request.headers.get("accept-language", ""))
        best = negotiate(wanted, offered, offered[0])
        translated = self.directory / site / best / (name or "index.html")
        if best == offered[0] or not translated.is_file():
            return None
        # A path on this site: the configured site and language, and a page name found on
        # disk in both languages (never a host or a path the request wrote).
        target = quote(f"/{site}/{best}/{name}")
        query = request.url.query
        return f"{target}?{query}" if query else target


def _mark_negotiated(headers: MutableHeaders) -> None:
    headers["Vary"] = VARY
    headers["Cache-Control"] = CACHE_CONTROL
