"""Sending one operation to a site's backend and reading its answer."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from pwreset.api.problems import ProblemError
from pwreset.api.settings import RelaySettings
from pwreset.protocol.client import ServerUnreachable, exchange
from pwreset.protocol.messages import Request

log = logging.getLogger("pwreset.api")


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
                max_timeout=self._settings.max_timeout,
                attempts=self._settings.attempts,
            )
        except ServerUnreachable:
            # Which backend, and where, is for the admin's log: end users get the generic
            # message (the internal address is of no use to them and of use to an attacker).
            log.warning("site %s: the server %s did not answer %s", vdir, address(route.server), op)
            raise ProblemError("server_unreachable") from None
        if reply.failure is not None:
            raise ProblemError(
                reply.failure.code, reply.failure.detail, params=dict(reply.failure.params)
            )
        return reply.result or {}


def address(server: tuple[str, int]) -> str:
    host, port = server
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
