"""The operations the backend serves. Each runs in a worker thread; the reply carries a
result or a stable error code."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from pwreset.protocol.messages import Failure, Reply, Request
from pwreset.server.directory.base import DirectoryError
from pwreset.server.flows import admin, change, enroll, meta, pacing, recovery, status
from pwreset.server.flows.context import FlowContext
from pwreset.server.flows.errors import FlowError
from pwreset.server.storage import StorageFullError

log = logging.getLogger("pwreset.flows")

Operation = Callable[[FlowContext, Request], Mapping[str, Any]]

OPERATIONS: dict[str, Operation] = {
    "ping": meta.ping,
    "meta": meta.meta,
    "change": change.change,
    "enroll": enroll.enroll,
    "reset.start": lambda ctx, r: recovery.start(ctx, r, "reset"),
    "reset.step": lambda ctx, r: recovery.step(ctx, r, "reset"),
    "unlock.start": lambda ctx, r: recovery.start(ctx, r, "unlock"),
    "unlock.step": lambda ctx, r: recovery.step(ctx, r, "unlock"),
    "enrollment_status": status.enrollment_status,
    admin.UNLOCK: admin.unlock,
}
# Operations that belong to no site: the liveness check and the console's admin requests.
_SITELESS = frozenset({"ping", admin.UNLOCK})

# Operations that store nothing: still served while the data folder is full.
READ_ONLY_OPERATIONS = frozenset({"ping", "meta", "enrollment_status"})


class Flows:
    """Dispatches one opened request to its operation and builds the reply."""

    def __init__(self, context: FlowContext) -> None:
        self.context = context

    def reply_floor(self, request: Request) -> float:
        """Seconds the reply to `request` must not come sooner than (see `pacing`)."""
        return pacing.reply_floor(self.context.config, request.op)

    def dispatch(self, request: Request) -> Reply:
        try:
            if request.vdir not in self.context.config.sites and request.op not in _SITELESS:
                raise FlowError("unknown_site")
            operation = OPERATIONS.get(request.op)
            if operation is None:
                raise FlowError("bad_request", f"unknown operation {request.op[:32]!r}")
            return Reply(request.request_id, result=operation(self.context, request))
        except FlowError as exc:
            return Reply(request.request_id, failure=Failure(exc.code, exc.detail, exc.params))
        except DirectoryError as exc:
            params = {"reason": exc.reason} if exc.reason else {}
            return Reply(request.request_id, failure=Failure(exc.code, "", params))
        except StorageFullError as exc:
            # Admitted with room to spare, then the disk filled (another process?): this
            # write is refused whole, the ones before it stand.
            log.error("operation %s: %s", request.op[:32], exc)
            return Reply(request.request_id, failure=Failure("storage_full"))
        except Exception:
            log.exception("operation %s failed", request.op[:32])
            return Reply(request.request_id, failure=Failure("server_error"))


__all__ = ["READ_ONLY_OPERATIONS", "FlowContext", "FlowError", "Flows"]
