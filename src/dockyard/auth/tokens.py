"""Registry bearer tokens: JWTs as Docker's token spec and Distribution 2.8 read them.

Issued with `alg`, `kid` (libtrust form) and `x5c` in the header; `iss`, `sub`, `aud` (a string:
Distribution refuses a list), integer `exp`/`nbf`/`iat`, `jti` and `access` in the claims.
Verified against trusted public keys only, with the algorithm tied to the key's type, so `none`,
HS* (a public key used as an HMAC secret) and mismatched algorithms never pass.
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography import x509

from dockyard.auth.keys import PublicKey, SigningKey, algorithms_for, libtrust_key_id
from dockyard.auth.scopes import Scope, ScopeError

# Distribution's leeway on exp and nbf: clocks of the token server and registry may differ.
LEEWAY_SECONDS = 60
# Larger tokens are refused before any parsing (Docker Hub's are ~1-2 KiB).
MAX_TOKEN_BYTES = 16 * 1024
# Verified tokens remembered, so a pull's many requests with one token check its signature once.
CACHE_ENTRIES = 4096


class InvalidToken(Exception):
    """The token cannot be trusted; the message says why (never echoes the token)."""


@dataclass(frozen=True, slots=True)
class TokenClaims:
    subject: str
    issuer: str
    audience: str
    expires: int
    access: tuple[Scope, ...]
    token_id: str | None = None


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    expires_in: int
    issued_at: int


class TokenIssuer:
    def __init__(self, key: SigningKey, issuer: str, lifetime_seconds: int) -> None:
        self.key = key
        self.issuer = issuer
        self.lifetime = lifetime_seconds

    def issue(
        self, subject: str, audience: str, access: Sequence[Scope], now: int | None = None
    ) -> IssuedToken:
        issued_at = int(time.time()) if now is None else now
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": subject,
            "aud": audience,
            "exp": issued_at + self.lifetime,
            "nbf": issued_at,
            "iat": issued_at,
            "jti": secrets.token_urlsafe(16),
            "access": [scope.to_claim() for scope in access],
        }
        headers: dict[str, Any] = {"kid": self.key.key_id}
        x5c = self.key.x5c()
        if x5c is not None:
            headers["x5c"] = x5c
        token = jwt.encode(claims, self.key.private_key, self.key.algorithm, headers=headers)
        return IssuedToken(token, self.lifetime, issued_at)


class TokenVerifier:
    """Checks signature, issuer, audience and time of tokens signed by any trusted key."""

    def __init__(self, trusted: Sequence[PublicKey], issuer: str, audience: str) -> None:
        if not trusted:
            raise ValueError("a token verifier needs at least one trusted key")
        self.keys = {libtrust_key_id(key): key for key in trusted}
        self.issuer = issuer
        self.audience = audience
        self._verified: dict[str, TokenClaims] = {}

    def verify(self, token: str) -> TokenClaims:
        """The token's claims, or InvalidToken; the time checks use the clock of this host."""
        cached = self._verified.get(token)
        if cached is not None and time.time() <= cached.expires + LEEWAY_SECONDS:
            return cached
        claims = self._verify(token)
        if len(self._verified) >= CACHE_ENTRIES:
            self._verified.clear()  # crude, but bounded and rare: a refill costs one check each
        self._verified[token] = claims
        return claims

    def _verify(self, token: str) -> TokenClaims:
        if len(token) > MAX_TOKEN_BYTES:
            raise InvalidToken("token too large")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("token is not a JWS in compact form") from None
        errors = []
        for key in self._candidates(header):
            try:
                payload = jwt.decode(
                    token,
                    key,
                    algorithms=algorithms_for(key),
                    audience=self.audience,
                    issuer=self.issuer,
                    leeway=LEEWAY_SECONDS,
                    options={
                        "require": ["exp", "iss", "aud"],
                        "strict_aud": True,
                        "verify_iat": False,  # Distribution ignores iat; only exp/nbf bound it
                    },
                )
            except jwt.InvalidSignatureError:
                errors.append("signature does not verify")
                continue
            except jwt.ExpiredSignatureError:
                raise InvalidToken("token has expired") from None
            except jwt.ImmatureSignatureError:
                raise InvalidToken("token is not valid yet") from None
            except jwt.InvalidAudienceError:
                raise InvalidToken(f"token is not for this service ({self.audience})") from None
            except jwt.InvalidIssuerError:
                raise InvalidToken("token is from an untrusted issuer") from None
            except jwt.InvalidAlgorithmError:
                raise InvalidToken("token's algorithm is not allowed for its key") from None
            except jwt.PyJWTError as exc:
                raise InvalidToken(f"token is malformed: {exc}") from None
            return _claims(payload)
        raise InvalidToken(errors[0] if errors else "token is signed by an unknown key")

    def _candidates(self, header: dict[str, Any]) -> list[PublicKey]:
        """The trusted key the header names (x5c leaf or kid); every one when it names none."""
        x5c, kid = header.get("x5c"), header.get("kid")
        if x5c is not None:
            key = self.keys.get(_leaf_key_id(x5c))
            return [] if key is None else [key]
        if kid is not None:
            key = self.keys.get(kid) if isinstance(kid, str) else None
            return [] if key is None else [key]
        return list(self.keys.values())


def _leaf_key_id(x5c: Any) -> str:
    if not isinstance(x5c, list) or not x5c or not isinstance(x5c[0], str):
        raise InvalidToken("token's x5c header is malformed")
    try:
        certificate = x509.load_der_x509_certificate(base64.b64decode(x5c[0], validate=True))
        key = certificate.public_key()
    except ValueError:
        raise InvalidToken("token's x5c certificate is malformed") from None
    return libtrust_key_id(key) if isinstance(key, PublicKey) else ""


def _claims(payload: dict[str, Any]) -> TokenClaims:
    # PyJWT accepts numeric strings and floats for the times; Distribution only integers.
    for name in ("exp", "nbf", "iat"):
        if name in payload and type(payload[name]) is not int:
            raise InvalidToken(f"token's {name} is not an integer")
    subject = payload.get("sub", "")
    if not isinstance(subject, str):
        raise InvalidToken("token's sub is not a string")
    access = payload.get("access") or []
    if not isinstance(access, list):
        raise InvalidToken("token's access claim is not a list")
    try:
        scopes = tuple(Scope.from_claim(entry) for entry in access)
    except ScopeError as exc:
        raise InvalidToken(f"token's access claim is malformed: {exc}") from None
    token_id = payload.get("jti")
    return TokenClaims(
        subject=subject,
        issuer=payload["iss"],
        audience=payload["aud"],
        expires=payload["exp"],
        access=scopes,
        token_id=token_id if isinstance(token_id, str) else None,
    )
