"""Refresh tokens (the OAuth2 `refresh_token` of Docker's token spec): long-lived JWTs signed with
the token service's own key, naming only a subject and the service they are good for.

Opaque to clients. Nothing is stored: the signature, expiry and audience make one valid, and the
token service also asks the Authenticator whether the subject may still log in each time one is
used, so removing an account ends its refresh tokens. Their audience is not the registry's
(`<service>#refresh`) and they carry no `access`: a registry refuses one sent as a Bearer token.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import jwt

from dockyard.auth.keys import SigningKey, algorithms_for
from dockyard.auth.tokens import LEEWAY_SECONDS, MAX_TOKEN_BYTES, InvalidToken

TOKEN_TYPE = "dockyard-refresh+jwt"
ISSUED_MS = "dockyard_iat_ms"


@dataclass(frozen=True, slots=True)
class RefreshClaims:
    subject: str
    client_id: str | None
    issued_at: float | None  # Unix time, to the millisecond; None in a token without `iat`


class RefreshTokens:
    def __init__(self, key: SigningKey, issuer: str, service: str, lifetime_seconds: int) -> None:
        self.key = key
        self.issuer = issuer
        self.audience = f"{service}#refresh"
        self.lifetime = lifetime_seconds

    def issue(self, subject: str, client_id: str | None, now: int | None = None) -> str:
        issued_ms = time.time_ns() // 1_000_000 if now is None else now * 1000
        issued_at = issued_ms // 1000
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": self.audience,
            "exp": issued_at + self.lifetime,
            "iat": issued_at,
            "jti": secrets.token_urlsafe(16),
            "client_id": client_id,
            # `iat` is in whole seconds: a password changed within the second a token was issued
            # must still end it, so the Authenticator compares this instead.
            ISSUED_MS: issued_ms,
        }
        headers = {"kid": self.key.key_id, "typ": TOKEN_TYPE}
        return jwt.encode(claims, self.key.private_key, self.key.algorithm, headers=headers)

    def verify(self, token: str) -> RefreshClaims:
        """The subject a refresh token of this service names, or InvalidToken (never echoing it)."""
        if len(token) > MAX_TOKEN_BYTES:
            raise InvalidToken("refresh token too large")
        try:
            if jwt.get_unverified_header(token).get("typ") != TOKEN_TYPE:
                raise InvalidToken("not a refresh token of this service")
            payload = jwt.decode(
                token,
                self.key.public_key,
                algorithms=algorithms_for(self.key.public_key),
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "aud", "sub"], "strict_aud": True},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("refresh token has expired") from None
        except jwt.PyJWTError:
            raise InvalidToken("refresh token is invalid") from None
        subject, client_id = payload["sub"], payload.get("client_id")
        if not isinstance(subject, str) or not subject:
            raise InvalidToken("refresh token is invalid")
        client = client_id if isinstance(client_id, str) else None
        return RefreshClaims(subject, client, _issued_at(payload))


def _issued_at(payload: dict[str, object]) -> float | None:
    """When the token was issued: to the millisecond, or to the second for tokens made before
    Dockyard wrote milliseconds."""
    precise, whole = payload.get(ISSUED_MS), payload.get("iat")
    if isinstance(precise, int) and not isinstance(precise, bool):
        return precise / 1000
    if isinstance(whole, int) and not isinstance(whole, bool):
        return float(whole)
    return None
