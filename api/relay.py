"""Sending one operation to a site's backend and reading its answer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pwreset.api.problems import ProblemError
from pwreset.api.settings import RelaySettings
from pwreset.protocol.client import ServerUnreachable, exchange
from pwreset.protocol.messages import Request


class Relay:
    def __init__(self, settings: RelaySettings) -> None:
        self._settings = settings

    async def call(
        self, vdir: str, op: str, body: Mapping[str, Any], client_ip: str
    ) -> Mapping[str, Any]:
        """The backend's result for `op`; its failures are raised as ProblemError."""
        route = self._settings.sites[vdir]
        request = Request(op=op, vdir=vdir, client_ip=client_ip, body=dict(body))
        try:
            reply = await exchange(
                request,
                route.server,
                self._settings.server_key,
                relay_key=self._settings.relay_key,
                timeout=self._settings.timeout,
                attempts=self._settings.attempts,
            )
        except ServerUnreachable:
            server = _address(route.server)
            raise ProblemError(
                "server_unreachable",
                f"the password reset server {server} did not answer",
                params={"server": server},
            ) from None
        if reply.failure is not None:
            raise ProblemError(
                reply.failure.code, reply.failure.detail, params=dict(reply.failure.params)
            )
        return reply.result or {}


def _address(address: tuple[str, int]) -> str:
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
