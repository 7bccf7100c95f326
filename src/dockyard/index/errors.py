"""The index's errors, each with its code (dockyard.kit.errors); the /api answers them as JSON."""

from __future__ import annotations

from dockyard.kit.errors import ErrorCode


class IndexProblem(Exception):
    code = ErrorCode.INVALID_REQUEST
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Invalid(IndexProblem):
    pass


class BadPagination(Invalid):
    code = ErrorCode.PAGINATION_NUMBER_INVALID


class Unauthorized(IndexProblem):
    code = ErrorCode.UNAUTHORIZED
    status = 401


class Forbidden(IndexProblem):
    code = ErrorCode.DENIED
    status = 403


class NotFound(IndexProblem):
    code = ErrorCode.NOT_FOUND
    status = 404


class Conflict(IndexProblem):
    code = ErrorCode.CONFLICT
    status = 409


class TooLarge(IndexProblem):
    code = ErrorCode.SIZE_INVALID
    status = 413


class TooManyFailures(IndexProblem):
    code = ErrorCode.TOOMANYREQUESTS
    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
