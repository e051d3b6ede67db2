"""The relay's endpoints, one small function each: check the request, relay it, return the
backend's answer. The operations table (pwreset.api.operations) routes and documents them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, TypeAdapter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from pwreset.api.bodies import ENROLLMENT_PATH, UPN_PATH
from pwreset.api.client_ip import client_ip, parse_ip, web_user
from pwreset.api.problems import ProblemError
from pwreset.api.relay import Relay, address
from pwreset.api.validation import json_body, parse

Endpoint = Callable[[Request], Awaitable[Response]]

_META_TTL = 30.0
# Two weeks, as the original: a "yes" rarely turns into a "no".
_ENROLLED_MAX_AGE = 14 * 24 * 3600


async def meta(request: Request) -> Response:
    relay = Relay.of(request)
    vdir = relay.site(request)
    hit = relay.meta_cache.get(vdir)
    if hit is None or time.monotonic() - hit[0] > _META_TTL:
        result = dict(await relay.call(vdir, "meta", {}, client_ip(request, relay.settings)))
        hit = (time.monotonic(), result)
        relay.meta_cache[vdir] = hit
    return JSONResponse(hit[1], headers={"Cache-Control": "public, max-age=30"})


async def healthz(request: Request) -> Response:
    """The relay answers; each distinct backend is pinged once, concurrently. Only clients
    in `[web] admin_networks` are told which backends there are, by address."""
    relay = Relay.of(request)
    by_server: dict[tuple[str, int], str] = {}
    for vdir, route in relay.settings.sites.items():
        for server in route.servers:
            by_server.setdefault(server, vdir)
    answers = await asyncio.gather(*(relay.ping(s, v) for s, v in by_server.items()))
    healthy = all(answers)
    body: dict[str, Any] = {"status": "ok" if healthy else "degraded"}
    if _is_admin(request, relay):
        body["servers"] = {address(s): ok for s, ok in zip(by_server, answers, strict=True)}
    return JSONResponse(body, status_code=200 if healthy else 503)


def relayed(flow: str, op: str, body: TypeAdapter[Any]) -> Endpoint:
    """The endpoint that validates a `body` and relays it as `op` of `flow` (enroll, change,
    reset, unlock), once the site offers the flow and the address is within its limit."""

    async def endpoint(request: Request) -> Response:
        relay = Relay.of(request)
        settings = relay.settings
        model: BaseModel = parse(body, await json_body(request, settings.max_body))
        site = relay.site(request)
        if flow not in settings.sites[site].flows:
            raise ProblemError("flow_disabled", f"{flow} is not enabled on this site")
        address = client_ip(request, settings)
        if not relay.limiter.allow(address):
            wait = str(relay.limiter.retry_after(address))
            raise ProblemError(
                "rate_limited",
                f"too many requests from this address; try again in {wait} seconds",
                params={"retry_after": wait},
                headers={"Retry-After": wait},
            )
        sealed = model.model_dump(exclude_none=True)
        user = web_user(request, settings)
        if user:
            sealed["web_user"] = user
        return JSONResponse(dict(await relay.call(site, op, sealed, address)))

    endpoint.__name__ = op.replace(".", "_")
    return endpoint


async def enrollment(request: Request) -> Response:
    relay = Relay.of(request)
    site = relay.site(request)
    params = {k: v for k, v in request.path_params.items() if k != "site"}
    body: dict[str, str]
    if "upn" in params:
        upn = parse(UPN_PATH, params, shape="the path must be enrollments/upn/user@domain")
        body = {"upn": upn.upn}
    else:
        path = parse(ENROLLMENT_PATH, params, shape="the path must be enrollments/domain/user")
        body = {"domain": path.domain, "username": path.user}
    address = client_ip(request, relay.settings)
    result = dict(await relay.call(site, "enrollment_status", body, address))
    enrolled = result.get("isEnrolled") is True
    cache = f"private, max-age={_ENROLLED_MAX_AGE}" if enrolled else "no-store"
    return JSONResponse(result, headers={"Cache-Control": cache})


def _is_admin(request: Request, relay: Relay) -> bool:
    ip = parse_ip(client_ip(request, relay.settings))
    return ip is not None and any(ip in network for network in relay.settings.admin_networks)
