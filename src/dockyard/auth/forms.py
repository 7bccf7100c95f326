"""The body of an OAuth2 `POST /token`: `application/x-www-form-urlencoded`, small, read with a
limit so a huge or endless body is refused instead of buffered."""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request

from dockyard.kit.bodies import BodyTooLarge, read_limited

# A form with a password, a refresh token and many scopes fits many times over.
MAX_FORM_BYTES = 64 * 1024
FORM_TYPE = "application/x-www-form-urlencoded"


class FormError(Exception):
    """The body is not a form this endpoint reads; the message says why."""


class Form:
    def __init__(self, fields: list[tuple[str, str]]) -> None:
        self.fields = fields

    def get(self, name: str) -> str | None:
        """The field's first non-empty value; None when absent or empty."""
        return next((value for key, value in self.fields if key == name and value), None)

    def getlist(self, name: str) -> list[str]:
        return [value for key, value in self.fields if key == name]


async def read_form(request: Request) -> Form:
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != FORM_TYPE:
        raise FormError(f"the body must be {FORM_TYPE}")
    try:
        body = await read_limited(request, MAX_FORM_BYTES)
    except BodyTooLarge:
        raise FormError(f"the form is larger than {MAX_FORM_BYTES} bytes") from None
    try:
        text = body.decode("utf-8")
        fields = parse_qsl(text, keep_blank_values=True, strict_parsing=False, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise FormError("the form is not URL-encoded UTF-8") from None
    if any("\0" in key or "\0" in value for key, value in fields):
        raise FormError("the form holds a NUL character")
    return Form(fields)
