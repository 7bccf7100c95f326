"""Request bodies read with a limit: reading stops at the limit, so a huge or endless body is
refused after `limit` bytes, never buffered whole."""

from __future__ import annotations

from starlette.requests import Request

from dockyard.kit.numbers import parse_decimal


class BodyTooLarge(Exception):
    """The body (declared or sent) is larger than the endpoint takes."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"larger than {limit} bytes")
        self.limit = limit


async def read_limited(request: Request, limit: int) -> bytes:
    """The whole body, or BodyTooLarge as soon as it is known to exceed `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and (parse_decimal(declared, limit + 1) or 0) > limit:
        raise BodyTooLarge(limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge(limit)
    return bytes(body)
