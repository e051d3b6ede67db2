"""`pwreset preview`: the sites built for a designer (with the state gallery and the live
reload hook), served over HTTP, rebuilt on every change.

The page hook (builder/tools/pwreset-preview.js) polls `/__pwreset__/build-id`; the id
changes whenever a build rewrote some site, and the open pages reload. The server sends the
same strict Content-Security-Policy as production, so a designer sees CSP mistakes at once.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from pathlib import Path
from typing import Any, BinaryIO

from pwreset.builder.build import BuiltSite
from pwreset.builder.links import real, within
from pwreset.builder.output import refuse_links

BUILD_ID_PATH = "/__pwreset__/build-id"
CSP = "default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"


class BuildId:
    """The id of the newest build that changed something, shared with the server thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value = uuid.uuid4().hex

    def get(self) -> str:
        with self._lock:
            return self._value

    def built(self, sites: list[BuiltSite]) -> None:
        if any(site.rebuilt for site in sites):
            with self._lock:
                self._value = uuid.uuid4().hex


class _Handler(SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    build_id: Callable[[], str]

    def do_GET(self) -> None:
        if self.path.split("?")[0] == BUILD_ID_PATH:
            body = self.build_id().encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        # The stdlib answers If-Modified-Since to the second, so a page rebuilt within the
        # same second as the copy the browser holds would come back "304 Not Modified":
        # the preview always sends the file as it is now.
        del self.headers["If-Modified-Since"]
        super().do_GET()

    def send_head(self) -> BytesIO | BinaryIO | None:
        # Builds never write links, but the server runs before and between builds: a link
        # planted in the output folder must not serve what it points to.
        if not within(real(self.translate_path(self.path)), real(self.directory)):
            self.send_error(HTTPStatus.NOT_FOUND, "File not found")
            return None
        return super().send_head()

    def end_headers(self) -> None:
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def make_server(output: Path, build_id: BuildId, host: str, port: int) -> ThreadingHTTPServer:
    """An HTTP server for `output` (the build's site/ folder) with the build-id endpoint;
    a BuildError when `output` is a link (see `output.refuse_links`)."""
    refuse_links(output)
    handler = type("PreviewHandler", (_Handler,), {"build_id": staticmethod(build_id.get)})
    output.mkdir(parents=True, exist_ok=True)
    return ThreadingHTTPServer((host, port), partial(handler, directory=str(output)))
