"""The `Authorization` header: Basic user and password, or a Bearer token; anything else refused
with a message that says what is wrong and never repeats the credentials."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

# Generous for a JWT with many scopes; bigger headers are refused before decoding.
MAX_AUTHORIZATION_BYTES = 16 * 1024
# RFC 6750's b64token.
_TOKEN68 = re.compile(r"^[A-Za-z0-9\-._~+/]+=*$")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")  # Unicode's control characters (Cc)


class MalformedCredentials(Exception):
    """The header cannot be read; the message is safe to send back and to log."""


@dataclass(frozen=True, slots=True)
class BasicCredentials:
    user: str
    password: str

    def __repr__(self) -> str:  # never print the password, even in a traceback
        return f"BasicCredentials(user={self.user!r})"


@dataclass(frozen=True, slots=True)
class BearerToken:
    token: str

    def __repr__(self) -> str:
        return "BearerToken(...)"


Credentials = BasicCredentials | BearerToken


def parse_authorization(header: str | None) -> Credentials | None:
    """The credentials in an `Authorization` header; None when there is none."""
    if header is None or not header.strip():
        return None
    if len(header) > MAX_AUTHORIZATION_BYTES:
        raise MalformedCredentials("Authorization header too large")
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "basic":
        return _basic(value)
    if scheme.lower() == "bearer":
        if not _TOKEN68.match(value):
            raise MalformedCredentials("Bearer token is missing or has invalid characters")
        return BearerToken(value)
    raise MalformedCredentials("Authorization scheme must be Basic or Bearer")


def _basic(value: str) -> BasicCredentials:
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise MalformedCredentials("Basic credentials are not base64 of UTF-8 text") from None
    user, colon, password = decoded.partition(":")
    if not colon or not user:
        raise MalformedCredentials("Basic credentials must be user:password")
    if _CONTROL.search(decoded):
        # RFC 7617: neither user-id nor password may contain control characters.
        raise MalformedCredentials("Basic credentials must not hold control characters")
    return BasicCredentials(user, password)
