"""The registry's error, raised by name anywhere below the HTTP layer; its codes and its wire
format are the whole process's (dockyard.kit.errors)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from dockyard.kit.errors import ErrorCode, error_response

__all__ = ["ErrorCode", "RegistryError"]


class RegistryError(Exception):
    """Raised anywhere below the HTTP layer; answered as `{"errors": [...]}`."""

    def __init__(
        self,
        code: ErrorCode,
        message: str | None = None,
        detail: Any = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message or code.message)
        self.code = code
        self.message = message or code.message
        self.detail = detail
        self.status = status or code.status
        self.headers = headers or {}

    def response(self) -> Response:
        return error_response(self.code, self.message, self.detail, self.status, self.headers)
