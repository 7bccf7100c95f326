"""The index's errors, each with its HTTP status; the /api answers them as JSON."""

from __future__ import annotations


class IndexProblem(Exception):
    status = 400
    code = "INVALID_REQUEST"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Invalid(IndexProblem):
    pass


class Unauthorized(IndexProblem):
    status = 401
    code = "UNAUTHORIZED"


class Forbidden(IndexProblem):
    status = 403
    code = "DENIED"


class NotFound(IndexProblem):
    status = 404
    code = "NOT_FOUND"


class Conflict(IndexProblem):
    status = 409
    code = "CONFLICT"


class TooLarge(IndexProblem):
    status = 413
    code = "SIZE_INVALID"


class TooManyFailures(IndexProblem):
    status = 429
    code = "TOO_MANY_REQUESTS"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
