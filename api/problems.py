"""RFC 9457 problem details with pwreset's stable codes."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import JSONResponse

from pwreset.protocol.codes import error_kind, page_message, problem_body

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
        self.message = message or page_message(self.kind, self.params)
        self.headers = dict(headers or {})


def problem_response(error: ProblemError) -> JSONResponse:
    body = problem_body(error.kind, error.detail, error.params, error.message)
    return JSONResponse(
        body, status_code=error.kind.status, media_type=PROBLEM_TYPE, headers=error.headers
    )
