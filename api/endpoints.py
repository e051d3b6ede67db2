"""The relay's endpoints: one small function each."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from pwreset.api.client_ip import client_ip, parse_ip
from pwreset.api.problems import ProblemError
from pwreset.api.relay import Relay, address
from pwreset.api.settings import RelaySettings
from pwreset.protocol.client import ServerUnreachable, exchange
from pwreset.protocol.messages import Request as WireRequest

_META_TTL = 30.0


def _site(request: Request) -> str:
    settings: RelaySettings = request.app.state.settings
    vdir = str(request.path_params["site"])
    if vdir not in settings.sites:
        raise ProblemError("unknown_site", f"there is no site {vdir[:64]!r}")
    return vdir


async def meta(request: Request) -> Response:
    vdir = _site(request)
    cache: dict[str, tuple[float, dict[str, Any]]] = request.app.state.meta_cache
    hit = cache.get(vdir)
    if hit is None or time.monotonic() - hit[0] > _META_TTL:
        settings: RelaySettings = request.app.state.settings
        relay: Relay = request.app.state.relay
        result = dict(await relay.call(vdir, "meta", {}, client_ip(request, settings)))
        hit = (time.monotonic(), result)
        cache[vdir] = hit
    return JSONResponse(hit[1], headers={"Cache-Control": "public, max-age=30"})


async def healthz(request: Request) -> Response:
    """The relay answers; each distinct backend is pinged once, concurrently. Only clients
    in `[web] admin_networks` are told which backends there are, by address."""
    settings: RelaySettings = request.app.state.settings
    by_server: dict[tuple[str, int], str] = {}
    for vdir, route in settings.sites.items():
        by_server.setdefault(route.server, vdir)

    async def ping(server: tuple[str, int], vdir: str) -> bool:
        wire = WireRequest(op="ping", vdir=vdir, client_ip="", body={})
        try:
            reply = await exchange(
                wire,
                server,
                settings.server_key,
                relay_key=settings.relay_key,
                timeout=min(settings.timeout, 0.5),
                attempts=2,
            )
        except ServerUnreachable:
            return False
        return reply.failure is None

    answers = await asyncio.gather(*(ping(s, v) for s, v in by_server.items()))
    healthy = all(answers)
    body: dict[str, Any] = {"status": "ok" if healthy else "degraded"}
    if _is_admin(request, settings):
        body["servers"] = {address(s): ok for s, ok in zip(by_server, answers, strict=True)}
    return JSONResponse(body, status_code=200 if healthy else 503)


def _is_admin(request: Request, settings: RelaySettings) -> bool:
    ip = parse_ip(client_ip(request, settings))
    return ip is not None and any(ip in network for network in settings.admin_networks)
