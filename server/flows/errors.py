"""The error a flow raises for the user to see: a stable code, detail and parameters."""

from __future__ import annotations


class FlowError(Exception):
    def __init__(self, code: str, detail: str = "", **params: str) -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail
        self.params = params
