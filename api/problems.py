"""RFC 9457 problem details with pwreset's stable codes."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import JSONResponse

from pwreset.protocol.codes import error_kind

PROBLEM_TYPE = "application/problem+json"


class ProblemError(Exception):
    """Raised anywhere in a request; the app turns it into a problem+json response."""

    def __init__(
        self,
        code: str,
        detail: str = "",
        *,
        params: Mapping[str, str] | None = None,
        message: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(code)
        self.kind = error_kind(code)
        self.detail = detail or self.kind.detail
        self.params = dict(params or {})
        self.message = message or _message_id(self.kind.message_id, self.params)
        self.headers = dict(headers or {})


def _message_id(default: str, params: Mapping[str, str]) -> str:
    # An empty field names itself, so the page can say which box to fill in.
    field = params.get("field")
    if default == "RES_EMPTY_FIELD" and field:
        return f"RES_EMPTY_FIELD_{field.upper()}"
    return default


def problem_response(error: ProblemError) -> JSONResponse:
    kind = error.kind
    body = {
        "type": f"urn:pwreset:problem:{kind.code}",
        "title": kind.detail,
        "status": kind.status,
        "detail": error.detail,
        "code": kind.code,
        "message": error.message,
        "params": error.params,
    }
    return JSONResponse(
        body, status_code=kind.status, media_type=PROBLEM_TYPE, headers=error.headers
    )
