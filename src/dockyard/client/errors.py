"""The client's exceptions: one hierarchy, and the one place that maps a registry's answer
(status and the spec's `{"errors": [{"code", "message", "detail"}]}`) onto it.

Every message fits one line, so that a command can print `str(error)` and exit."""

from __future__ import annotations

import json
from typing import Any

import httpx

# What json.loads raises on what a registry sent: not JSON (or not UTF-8), or nested past
# Python's recursion limit.
NOT_JSON = (ValueError, RecursionError)


class RegistryError(Exception):
    """Anything a registry refused or failed to do; `code` is the spec's error code when the
    registry sent one."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        detail: Any = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.detail = detail


class InvalidReference(ValueError):
    """Text that is not an image reference, a repository name or a WWW-Authenticate header."""


class Unauthorized(RegistryError):
    """No valid credentials: the registry or its token server refused who we are."""


class Denied(RegistryError):
    """Authenticated, but not allowed to do this."""


class NotFound(RegistryError):
    """The repository, manifest or blob does not exist (or is not visible to us)."""


class NameUnknown(NotFound):
    pass


class ManifestUnknown(NotFound):
    pass


class BlobUnknown(NotFound):
    pass


class TooManyRequests(RegistryError):
    """Still refused with 429 after the retries, or asked to wait longer than we would."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class InvalidRequest(RegistryError):
    """The registry refused what we sent (a bad manifest, digest, range, name...)."""


class Unsupported(RegistryError):
    """The registry does not implement this operation."""


class InvalidURL(RegistryError):
    """A URL the registry gave (a token realm, Location, Link) that cannot be called."""


class RegistryUnavailable(RegistryError):
    """No usable answer after the retries: connection errors, timeouts, 5xx."""


class DigestMismatch(RegistryError):
    """Content did not hash to the digest that names it: it must not be used."""

    def __init__(self, what: str, expected: str, actual: str) -> None:
        super().__init__(f"{what}: digest mismatch: expected {expected}, got {actual}")
        self.expected = expected
        self.actual = actual


class TooLarge(RegistryError):
    """Content larger than it claimed to be, or than the limit for its kind."""


_BY_CODE: dict[str, type[RegistryError]] = {
    "UNAUTHORIZED": Unauthorized,
    "DENIED": Denied,
    "NAME_UNKNOWN": NameUnknown,
    "MANIFEST_UNKNOWN": ManifestUnknown,
    "BLOB_UNKNOWN": BlobUnknown,
    "BLOB_UPLOAD_UNKNOWN": NotFound,
    "NOT_FOUND": NotFound,
    "TOOMANYREQUESTS": TooManyRequests,
    "TOO_MANY_REQUESTS": TooManyRequests,
    "UNSUPPORTED": Unsupported,
}

_BY_STATUS: dict[int, type[RegistryError]] = {
    401: Unauthorized,
    403: Denied,
    404: NotFound,
    405: Unsupported,
    429: TooManyRequests,
}


def error_from_response(response: httpx.Response, what: str) -> RegistryError:
    """The exception for a refusal, named by the first error code the body carries, else by
    the status. `what` says what was attempted, e.g. `manifest 127.0.0.1:5000/app:v1`."""
    status = response.status_code
    code, message, detail = _first_error(response)
    kind = _BY_CODE.get(code or "") or _BY_STATUS.get(status)
    if kind is None:
        kind = RegistryUnavailable if status >= 500 else InvalidRequest
    text = message or response.reason_phrase or "error"
    label = f" ({code})" if code else ""
    line = f"{what}: {text}{label} [HTTP {status}]"
    return kind(" ".join(line.split()), status=status, code=code, detail=detail)


def _first_error(response: httpx.Response) -> tuple[str | None, str | None, Any]:
    if response.request.method == "HEAD":
        return None, None, None
    try:
        body = json.loads(response.content[:65536]) if response.content else None
    except (*NOT_JSON, httpx.ResponseNotRead):
        return None, None, None
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            first = errors[0]
            code = first.get("code")
            message = first.get("message")
            return (
                code if isinstance(code, str) else None,
                message if isinstance(message, str) else None,
                first.get("detail"),
            )
        # OAuth2's error shape, from a token server.
        if isinstance(body.get("error"), str):
            description = body.get("error_description")
            return None, description if isinstance(description, str) else body["error"], None
    return None, None, None
