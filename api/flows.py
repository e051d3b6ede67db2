"""The enroll, reset and unlock endpoints: validate, relay, return the backend's answer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from pwreset.api.client_ip import client_ip, web_user
from pwreset.api.problems import ProblemError
from pwreset.api.ratelimit import RateLimiter
from pwreset.api.relay import Relay
from pwreset.api.settings import RelaySettings
from pwreset.api.validation import answers, check_name, json_body, require

# Two weeks, as the original: a "yes" rarely turns into a "no".
_ENROLLED_MAX_AGE = 14 * 24 * 3600


async def _relay(request: Request, flow: str, op: str, body: Mapping[str, Any]) -> Response:
    settings: RelaySettings = request.app.state.settings
    vdir = str(request.path_params["vdir"])
    if vdir not in settings.sites:
        raise ProblemError("unknown_site", f"there is no site {vdir[:64]!r}")
    if flow not in settings.sites[vdir].flows:
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
    result = await relay.call(vdir, op, sealed, address)
    return JSONResponse(dict(result))


async def _body(request: Request) -> Mapping[str, Any]:
    settings: RelaySettings = request.app.state.settings
    return await json_body(request, settings.max_body)


async def change(request: Request) -> Response:
    data = await _body(request)
    body = require(data, ("domain", "username", "old_password", "new_password"), ("lang",))
    return await _relay(request, "change", "change", body)


async def enroll(request: Request) -> Response:
    data = await _body(request)
    fields = {k: v for k, v in data.items() if k != "answers"}
    body: dict[str, Any] = require(fields, ("domain", "username", "password"), ("email", "lang"))
    body["answers"] = answers(data)
    return await _relay(request, "enroll", "enroll", body)


async def start(request: Request) -> Response:
    flow = _flow_of(request)
    data = await _body(request)
    body = require(data, ("domain", "username"), ("lang",))
    return await _relay(request, flow, f"{flow}.start", body)


async def step(request: Request) -> Response:
    flow = _flow_of(request)
    data = await _body(request)
    given = [k for k in ("answer", "code", "new_password") if k in data]
    if len(given) != 1:
        raise ProblemError("bad_request", "send exactly one of answer, code or new_password")
    body = require(data, ("flow", given[0]), ("lang",))
    return await _relay(request, flow, f"{flow}.step", body)


async def enrollment(request: Request) -> Response:
    settings: RelaySettings = request.app.state.settings
    vdir = str(request.path_params["vdir"])
    if vdir not in settings.sites:
        raise ProblemError("unknown_site", f"there is no site {vdir[:64]!r}")
    params = request.path_params
    if "upn" in params:
        upn = str(params["upn"])
        if "@" not in upn.strip("@") or len(upn) > 512:
            raise ProblemError("bad_request", "the path must be enrollments/upn/user@domain")
        check_name("upn", upn)
        body = {"upn": upn}
    else:
        domain, user = str(params["domain"]), str(params["user"])
        if not domain.strip() or not user.strip() or len(domain) > 255 or len(user) > 256:
            raise ProblemError("bad_request", "the path must be enrollments/domain/user")
        check_name("domain", domain)
        check_name("username", user)
        body = {"domain": domain, "username": user}
    relay: Relay = request.app.state.relay
    result = dict(await relay.call(vdir, "enrollment_status", body, client_ip(request, settings)))
    enrolled = result.get("isEnrolled") is True
    cache = f"private, max-age={_ENROLLED_MAX_AGE}" if enrolled else "no-store"
    return JSONResponse(result, headers={"Cache-Control": cache})


def _flow_of(request: Request) -> str:
    flow = str(request.path_params["flow"])
    if flow not in ("reset", "unlock"):
        raise ProblemError("bad_request", "there is no such API endpoint")
    return flow
