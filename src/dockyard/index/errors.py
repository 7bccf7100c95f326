"""The index's errors, each with its code (dockyard.kit.errors); the /api answers them as JSON."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from dockyard.db.engine import refers_to_a_deleted_row
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


def deleted_meanwhile(error: IntegrityError) -> Conflict | None:
    """The answer to a write that refers to a row deleted before it committed (the signed-in
    account, looked up when it signed in); None for any other integrity error."""
    if not refers_to_a_deleted_row(error):
        return None
    return Conflict("what this change refers to was deleted meanwhile (your account, say)")


class TooLarge(IndexProblem):
    code = ErrorCode.SIZE_INVALID
    status = 413


class TooManyFailures(IndexProblem):
    code = ErrorCode.TOOMANYREQUESTS
    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
