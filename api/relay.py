"""The relay's state, made once per app: its settings, the per-address rate limit, the meta
cache, and the one way to a backend (an operation or a ping through the protocol client)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from pwreset.api.failover import SENDS_PER_SERVER, Failover
from pwreset.api.problems import ProblemError
from pwreset.api.ratelimit import RateLimiter
from pwreset.api.settings import RelaySettings
from pwreset.protocol import messages
from pwreset.protocol.client import ServerUnreachable, exchange, exchange_any, waits
from pwreset.protocol.trace import TRACE_FIELD, current_trace, new_trace_id

log = logging.getLogger("pwreset.api")


@dataclass
class Relay:
    settings: RelaySettings
    limiter: RateLimiter = field(init=False)
    # Per site: (when fetched, the backend's meta answer).
    meta_cache: dict[str, tuple[float, dict[str, Any]]] = field(init=False, default_factory=dict)
    failover: Failover = field(init=False, default_factory=Failover)

    def __post_init__(self) -> None:
        self.limiter = RateLimiter(self.settings.rate_limit)

    @staticmethod
    def of(request: Request) -> Relay:
        """The relay of the app serving `request` (create_app puts it in `app.state`)."""
        relay = request.app.state.relay
        assert isinstance(relay, Relay)
        return relay

    def site(self, request: Request) -> str:
        """The request's site (virtual directory); unknown_site if it is not configured."""
        vdir = str(request.path_params["site"])
        if vdir not in self.settings.sites:
            raise ProblemError("unknown_site", f"there is no site {vdir[:64]!r}")
        return vdir

    async def call(
        self, vdir: str, op: str, body: Mapping[str, Any], client_ip: str
    ) -> Mapping[str, Any]:
        """The backend's result for `op`; its failures are raised as ProblemError."""
        settings = self.settings
        route = settings.sites[vdir]
        # The request id goes along, so the server's log lines for it carry it too.
        sealed = {**body, TRACE_FIELD: current_trace.get() or new_trace_id()}
        request = messages.Request(op=op, vdir=vdir, client_ip=client_ip, body=sealed)
        servers = self.failover.order(vdir, route.servers)
        schedule = waits(settings.timeout, settings.attempts, max_timeout=settings.max_timeout)
        try:
            answer = await exchange_any(
                request,
                servers,
                settings.server_key,
                schedule=schedule,
                # One server: all its sends; several: a share each, round again while it lasts.
                per_server=len(schedule) if len(servers) == 1 else SENDS_PER_SERVER,
                relay_key=settings.relay_key,
            )
        except ServerUnreachable:
            for server in servers:
                self.failover.silent(server)
            # Which backend, and where, is for the admin's log: end users get the generic
            # message (the internal address is of no use to them and of use to an attacker).
            where = ", ".join(address(s) for s in servers)
            log.warning("site %s: the server %s did not answer %s", vdir, where, op)
            raise ProblemError("server_unreachable") from None
        for server in answer.silent:
            self.failover.silent(server)
            log.warning("site %s: the server %s did not answer %s; %s did", vdir,
                        address(server), op, address(answer.server))  # fmt: skip
        self.failover.answered(vdir, answer.server)
        reply = answer.reply
        if reply.failure is not None:
            raise ProblemError(
                reply.failure.code, reply.failure.detail, params=dict(reply.failure.params)
            )
        return reply.result or {}

    async def ping(self, server: tuple[str, int], vdir: str) -> bool:
        """Whether the backend at `server` answers, asked quickly (for the health check)."""
        request = messages.Request(op="ping", vdir=vdir, client_ip="", body={})
        try:
            reply = await exchange(
                request,
                server,
                self.settings.server_key,
                relay_key=self.settings.relay_key,
                timeout=min(self.settings.timeout, 0.5),
                attempts=2,
            )
        except ServerUnreachable:
            return False
        return reply.failure is None


def address(server: tuple[str, int]) -> str:
    host, port = server
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
