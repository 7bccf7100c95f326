"""Every error code the process answers with, declared once, and the one function that writes
an error's body: `{"errors": [{"code", "message", "detail"?}]}`, the distribution-spec's shape,
for the registry, the token service's GET and the index's /api alike.

(`POST /token` answers RFC 6749's `{"error", "error_description"}`, which OAuth clients read.)
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any

from starlette.responses import JSONResponse

# The name of the route (the web UI's, in index mode) that answers a browser's GET of a path no
# route has: a page for people, where clients of the APIs keep the error body they read.
NOT_FOUND_PAGE = "not-found-page"


class ErrorCode(Enum):
    # (HTTP status, default message); the registry's as the distribution-spec and Distribution
    # pair them.
    BLOB_UNKNOWN = (404, "blob unknown to registry")
    BLOB_UPLOAD_INVALID = (400, "blob upload invalid")
    BLOB_UPLOAD_UNKNOWN = (404, "blob upload unknown to registry")
    DIGEST_INVALID = (400, "provided digest did not match uploaded content")
    MANIFEST_BLOB_UNKNOWN = (400, "manifest references a manifest or blob unknown to registry")
    MANIFEST_INVALID = (400, "manifest invalid")
    MANIFEST_UNKNOWN = (404, "manifest unknown to registry")
    NAME_INVALID = (400, "invalid repository name")
    NAME_UNKNOWN = (404, "repository name not known to registry")
    SIZE_INVALID = (400, "provided length did not match content length")
    UNAUTHORIZED = (401, "authentication required")
    DENIED = (403, "requested access to the resource is denied")
    UNSUPPORTED = (415, "the operation is unsupported")
    TOOMANYREQUESTS = (429, "too many requests")
    # Distribution's code for a bad `n` in tag and catalog listings.
    PAGINATION_NUMBER_INVALID = (400, "invalid number of results requested")
    RANGE_INVALID = (416, "invalid content range")
    # A body slower than http.limits allows: cut.
    REQUEST_TIMEOUT = (408, "the request body came too slowly")
    # The token service's and the index's.
    INVALID_REQUEST = (400, "the request is malformed")
    NOT_FOUND = (404, "no such thing")
    CONFLICT = (409, "the request conflicts with what exists")
    UNKNOWN = (500, "internal server error")
    # Distribution's, for a dependency that is away (the database): the client may retry.
    UNAVAILABLE = (503, "service unavailable")

    @property
    def status(self) -> int:
        return self.value[0]

    @property
    def message(self) -> str:
        return self.value[1]


def error_response(
    code: ErrorCode,
    message: str | None = None,
    detail: Any = None,
    status: int | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """The answer to one error; `status` only where the code's usual one does not fit."""
    error: dict[str, Any] = {"code": code.name, "message": message or code.message}
    if detail is not None:
        error["detail"] = detail
    return JSONResponse(
        {"errors": [error]}, status_code=status or code.status, headers=dict(headers or {})
    )
