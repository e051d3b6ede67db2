"""The app factory: `create_app(settings)`, or `app_from_env()` for any ASGI server."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route

from pwreset.api import openapi
from pwreset.api.middleware import HttpsOnly, RequestIds, security_headers
from pwreset.api.operations import OPERATIONS
from pwreset.api.problems import ProblemError, problem_response
from pwreset.api.relay import Relay
from pwreset.api.settings import RelaySettings
from pwreset.api.site_pages import SitePages
from pwreset.config.loader import load_config

log = logging.getLogger("pwreset.api")


def create_app(settings: RelaySettings) -> Starlette:
    # Every endpoint comes from the operations table, which the OpenAPI document describes.
    routes: list[Route | Mount] = [
        Route(op.path, op.handler, methods=[op.method]) for op in OPERATIONS
    ]
    routes += [
        Route(openapi.PATH, openapi.openapi, methods=["GET"]),
        Route("/{site}/api/{rest:path}", _no_such_endpoint),
    ]
    if settings.site_dir is not None:
        if len(settings.sites) == 1:
            only = next(iter(settings.sites))
            routes.append(Route("/", lambda _: RedirectResponse(f"/{only}/"), methods=["GET"]))
        languages = {vdir: site.languages for vdir, site in settings.sites.items()}
        routes.append(Mount("/", app=SitePages(settings.site_dir, languages)))
    app = Starlette(
        routes=routes,
        # Outermost first: every response, redirects included, gets its request id and the
        # security headers.
        middleware=[
            Middleware(RequestIds, settings=settings),
            Middleware(security_headers),
            Middleware(HttpsOnly, settings=settings),
        ],
        exception_handlers={
            ProblemError: _problem,
            HTTPException: _http_problem,
            Exception: _unexpected,
        },
    )
    # The relay's only state, typed: endpoints reach it with Relay.of(request).
    app.state.relay = Relay(settings)
    return app


def app_from_env() -> Starlette:
    """For `uvicorn --factory --no-proxy-headers pwreset.api.app:app_from_env`: config from
    PWRESET_CONFIG. The ASGI server must leave the client address alone: the relay believes
    forwarded headers only from `[web] trusted_proxies` (pwreset.api.client_ip)."""
    return create_app(RelaySettings.from_config(load_config(config_path_from_env())))


def config_path_from_env() -> Path:
    """The configuration an app made by a platform (not `pwreset web`) reads."""
    return Path(os.environ.get("PWRESET_CONFIG", "pwreset.toml"))


async def _no_such_endpoint(request: Request) -> Response:
    raise ProblemError("bad_request", "there is no such API endpoint")


async def _problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProblemError)
    return problem_response(exc)


async def _http_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if "/api/" in request.url.path:
        code = "bad_request" if exc.status_code != 404 else "unknown_site"
        error = ProblemError(code, str(exc.detail))
        return problem_response(error)
    return Response(str(exc.detail), status_code=exc.status_code, media_type="text/plain")


async def _unexpected(request: Request, exc: Exception) -> Response:
    """A failure of the relay itself is still a problem+json (Starlette logs it)."""
    return problem_response(ProblemError("server_error", "the relay failed"))
