"""The operations the backend serves, checked again here: the relay is never trusted."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from pwreset.protocol.messages import Failure, Reply, Request
from pwreset.server.directory.base import Directory, DirectoryError

from pwreset import __version__
from pwreset.config.schema import Config, SiteConfig

log = logging.getLogger("pwreset.flows")

# Field limits: generous for real names and passphrases, small enough to stop abuse.
_LIMITS = {"domain": 255, "username": 256, "old_password": 512, "new_password": 512, "lang": 16}


class FlowError(Exception):
    def __init__(self, code: str, detail: str = "", **params: str) -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail
        self.params = params


class Flows:
    """Dispatches one opened request to its operation and builds the reply."""

    def __init__(self, config: Config, directories: Mapping[str, Directory]) -> None:
        self._config = config
        self._directories = directories
        self._ops: dict[str, Callable[[Request, SiteConfig], Mapping[str, Any]]] = {
            "ping": self._ping,
            "meta": self._meta,
            "change": self._change,
        }

    def dispatch(self, request: Request) -> Reply:
        try:
            site = self._config.sites.get(request.vdir)
            if site is None:
                raise FlowError("unknown_site")
            handler = self._ops.get(request.op)
            if handler is None:
                raise FlowError("bad_request", f"unknown operation {request.op[:32]!r}")
            return Reply(request.request_id, result=handler(request, site))
        except FlowError as exc:
            return Reply(request.request_id, failure=Failure(exc.code, exc.detail, exc.params))
        except DirectoryError as exc:
            params = {"reason": exc.reason} if exc.reason else {}
            return Reply(request.request_id, failure=Failure(exc.code, "", params))
        except Exception:
            log.exception("operation %s failed", request.op[:32])
            return Reply(request.request_id, failure=Failure("server_error"))

    def _ping(self, request: Request, site: SiteConfig) -> Mapping[str, Any]:
        return {"pong": True, "version": __version__}

    def _meta(self, request: Request, site: SiteConfig) -> Mapping[str, Any]:
        return {
            "site": request.vdir,
            "title": site.title,
            "flows": list(site.flows),
            "domains": list(site.domains),
            "free_domain": not site.domains,
            "language": site.language,
        }

    def _change(self, request: Request, site: SiteConfig) -> Mapping[str, Any]:
        if "change" not in site.flows:
            raise FlowError("flow_disabled")
        body = _fields(request.body, ("domain", "username", "old_password", "new_password"))
        directory = self._directory(site, body["domain"])
        username = body["username"]
        try:
            directory.change_password(username, body["old_password"], body["new_password"])
        except DirectoryError as exc:
            log.info(
                "change failed: user=%s domain=%s ip=%s code=%s",
                username,
                directory.name,
                request.client_ip,
                exc.code,
            )
            raise
        log.info(
            "change done: user=%s domain=%s ip=%s", username, directory.name, request.client_ip
        )
        return {"status": "done", "message": "RES_FINISHED_CHANGE"}

    def _directory(self, site: SiteConfig, typed: str) -> Directory:
        domain = self._config.domain(typed)
        allowed = not site.domains or any(domain and domain.matches(d) for d in site.domains)
        if domain is None or not allowed or domain.name not in self._directories:
            raise FlowError("unknown_domain")
        return self._directories[domain.name]


def _fields(body: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name in names:
        value = body.get(name)
        if not isinstance(value, str) or not value.strip():
            raise FlowError("empty_field", f"{name} is required", field=name)
        if len(value) > _LIMITS[name]:
            raise FlowError("field_too_long", f"{name} is too long", field=name)
        out[name] = value
    return out
