"""The enroll, change, reset and unlock endpoints and the enrollment status: validate,
relay, return the backend's answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from pydantic import BaseModel, TypeAdapter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from pwreset.api.bodies import ENROLLMENT_PATH, UPN_PATH
from pwreset.api.client_ip import client_ip, web_user
from pwreset.api.problems import ProblemError
from pwreset.api.ratelimit import RateLimiter
from pwreset.api.relay import Relay
from pwreset.api.settings import RelaySettings
from pwreset.api.validation import json_body, parse

Endpoint = Callable[[Request], Awaitable[Response]]

# Two weeks, as the original: a "yes" rarely turns into a "no".
_ENROLLED_MAX_AGE = 14 * 24 * 3600


def relayed(flow: str, op: str, body: TypeAdapter[Any]) -> Endpoint:
    """The endpoint that validates a `body` and relays it as `op` of `flow`."""

    async def endpoint(request: Request) -> Response:
        settings: RelaySettings = request.app.state.settings
        model: BaseModel = parse(body, await json_body(request, settings.max_body))
        return await _relay(request, flow, op, model.model_dump(exclude_none=True))

    endpoint.__name__ = op.replace(".", "_")
    return endpoint


async def _relay(request: Request, flow: str, op: str, body: Mapping[str, Any]) -> Response:
    settings: RelaySettings = request.app.state.settings
    site = _site(request)
    if flow not in settings.sites[site].flows:
        raise ProblemError("flow_disabled", f"{flow} is not enabled on this site")
    address = client_ip(request, settings)
    limiter: RateLimiter = request.app.state.limiter
    if not limiter.allow(address):
        wait = str(limiter.retry_after(address))
        raise ProblemError(
            "rate_limited",
            f"too many requests from this address; try again in {wait} seconds",
            params={"retry_after": wait},
            headers={"Retry-After": wait},
        )
    relay: Relay = request.app.state.relay
    sealed = dict(body)
    user = web_user(request, settings)
    if user:
        sealed["web_user"] = user
    result = await relay.call(site, op, sealed, address)
    return JSONResponse(dict(result))


def _site(request: Request) -> str:
    settings: RelaySettings = request.app.state.settings
    site = str(request.path_params["site"])
    if site not in settings.sites:
        raise ProblemError("unknown_site", f"there is no site {site[:64]!r}")
    return site


async def enrollment(request: Request) -> Response:
    settings: RelaySettings = request.app.state.settings
    site = _site(request)
    params = {k: v for k, v in request.path_params.items() if k != "site"}
    body: dict[str, str]
    if "upn" in params:
        upn = parse(UPN_PATH, params, shape="the path must be enrollments/upn/user@domain")
        body = {"upn": upn.upn}
    else:
        path = parse(ENROLLMENT_PATH, params, shape="the path must be enrollments/domain/user")
        body = {"domain": path.domain, "username": path.user}
    relay: Relay = request.app.state.relay
    result = dict(await relay.call(site, "enrollment_status", body, client_ip(request, settings)))
    enrolled = result.get("isEnrolled") is True
    cache = f"private, max-age={_ENROLLED_MAX_AGE}" if enrolled else "no-store"
    return JSONResponse(result, headers={"Cache-Control": cache})
