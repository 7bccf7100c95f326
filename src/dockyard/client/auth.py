"""Authentication to a registry: the challenge a 401 carries decides how.

- `Bearer` (Docker's token spec): a token from the realm for the scopes a request needs, asked
  with Basic credentials (GET) or with a refresh token (OAuth2 POST), anonymously without
  credentials; tokens kept per (realm, service, scopes) and fetched again shortly before expiry.
- `Basic`: the credentials on every request.

What a host asked for once is remembered, so later requests carry their authorisation from the
start instead of collecting a 401 each."""

from __future__ import annotations

import asyncio
import base64
import time
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx

from dockyard.client.challenge import Challenge, parse_challenges
from dockyard.client.credentials import Credential, Credentials
from dockyard.client.errors import NOT_JSON, RegistryError, Unauthorized, error_from_response
from dockyard.client.transport import Transport

# The token spec: a token without `expires_in` lasts 60 seconds.
DEFAULT_LIFETIME = 60
CLIENT_ID = "dockyard"


@dataclass(frozen=True, slots=True)
class Token:
    value: str
    expires_at: float  # time.monotonic()
    refresh_token: str | None = None

    def fresh(self, now: float) -> bool:
        return now < self.expires_at


class Authenticator:
    """Authorisation headers for the requests to one registry."""

    def __init__(self, registry: str, credentials: Credentials, transport: Transport) -> None:
        self.registry = registry
        self.credentials = credentials
        self.transport = transport
        self.challenge: Challenge | None = None  # what the registry asked for last
        self._tokens: dict[tuple[str, str, tuple[str, ...]], Token] = {}
        self._locks: dict[tuple[str, str, tuple[str, ...]], asyncio.Lock] = {}
        self._credential: Credential | None = None
        self._credential_read = False

    async def headers(self, scopes: tuple[str, ...]) -> dict[str, str]:
        """The Authorization header for a request needing `scopes`, if the registry is known
        to want one."""
        challenge = self.challenge
        if challenge is None:
            return {}
        if challenge.scheme == "basic":
            return await self._basic_header()
        if challenge.scheme == "bearer":
            token = await self.token(challenge, scopes)
            return {"Authorization": f"Bearer {token.value}"}
        return {}

    async def challenged(
        self, response: httpx.Response, scopes: tuple[str, ...], what: str
    ) -> tuple[str, ...]:
        """Learn from a 401: remember the challenge, drop a token it refused; the scopes to
        ask for next (ours and any the registry named). Unauthorized if we cannot answer it."""
        challenges = parse_challenges(response.headers.get("www-authenticate", ""))
        usable = [c for c in challenges if c.scheme in ("bearer", "basic")]
        if not usable:
            raise error_from_response(response, what)
        challenge = next((c for c in usable if c.scheme == "bearer"), usable[0])
        if challenge.scheme == "bearer" and not challenge.realm:
            raise error_from_response(response, what)
        wanted = tuple(sorted(set(scopes) | set(challenge.scopes)))
        previous = self.challenge
        self.challenge = challenge
        if challenge.scheme == "basic":
            # Refused only if this request carried them: requests sent at once before the
            # first 401 was read all come back 401 without any.
            sent = "authorization" in response.request.headers
            if sent and previous is not None and previous.scheme == "basic":
                raise error_from_response(response, what)  # our credentials were refused
            if await self._credential_once() is None:
                raise Unauthorized(f"{what}: the registry wants a username and password",
                                   status=401)  # fmt: skip
            return wanted
        key = _key(challenge, wanted)
        if key in self._tokens and previous is not None:
            # We sent exactly this token and it was refused: one more try with a new one.
            del self._tokens[key]
        return wanted

    async def token(self, challenge: Challenge, scopes: tuple[str, ...]) -> Token:
        key = _key(challenge, scopes)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:  # parallel layer pushes share one token request
            token = self._tokens.get(key)
            if token is None or not token.fresh(time.monotonic()):
                token = await self._fetch(challenge, scopes)
                self._tokens[key] = token
            return token

    async def login(self) -> Credential | None:
        """Check the credentials against the registry (`GET /v2/` and, for token auth, a
        token with no scope); with a token server that gives refresh tokens, the credential
        to store is the refresh token (docker's `identitytoken`), not the password."""
        credential = await self._credential_once()
        if self.challenge is None or self.challenge.scheme != "bearer":
            return credential
        if credential is None or credential.username is None:
            return credential
        form = {
            "grant_type": "password",
            "username": credential.username,
            "password": credential.password or "",
            "service": self.challenge.service or "",
            "client_id": CLIENT_ID,
            "access_type": "offline",
        }
        try:
            token = await self._post(self.challenge, form, "login")
        except RegistryError as error:
            if error.status not in (400, 404, 405):
                raise
            token = await self._get(self.challenge, (), credential, offline=True)
        if token.refresh_token:
            self._credential = Credential(identity_token=token.refresh_token)
            return self._credential
        return credential

    async def _fetch(self, challenge: Challenge, scopes: tuple[str, ...]) -> Token:
        credential = await self._credential_once()
        if credential is not None and credential.identity_token:
            form = {
                "grant_type": "refresh_token",
                "refresh_token": credential.identity_token,
                "service": challenge.service or "",
                "client_id": CLIENT_ID,
                "scope": " ".join(scopes),
            }
            return await self._post(challenge, form, f"token for {self.registry}")
        return await self._get(challenge, scopes, credential)

    async def _get(
        self,
        challenge: Challenge,
        scopes: tuple[str, ...],
        credential: Credential | None,
        offline: bool = False,
    ) -> Token:
        query: list[tuple[str, str]] = []
        if challenge.service:
            query.append(("service", challenge.service))
        query += [("scope", scope) for scope in scopes]
        headers: dict[str, str] = {}
        if credential is not None and credential.username is not None:
            headers = _basic(credential)
            query.append(("account", credential.username))
        if offline:
            query += [("offline_token", "true"), ("client_id", CLIENT_ID)]
        realm = str(challenge.realm)
        url = f"{realm}{'&' if '?' in realm else '?'}{urlencode(query)}" if query else realm
        what = f"token for {self.registry}"
        response = await self.transport.send("GET", url, headers=headers, what=what)
        return _token_from(response, what)

    async def _post(self, challenge: Challenge, form: dict[str, str], what: str) -> Token:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        body = urlencode(form).encode()
        response = await self.transport.send(
            "POST", str(challenge.realm), headers=headers, body=body, what=what, retryable=True
        )
        return _token_from(response, what)

    async def _basic_header(self) -> dict[str, str]:
        credential = await self._credential_once()
        return _basic(credential) if credential is not None else {}

    async def _credential_once(self) -> Credential | None:
        if not self._credential_read:
            self._credential = await self.credentials.get(self.registry)
            self._credential_read = True
        return self._credential


def _key(challenge: Challenge, scopes: tuple[str, ...]) -> tuple[str, str, tuple[str, ...]]:
    return (challenge.realm or "", challenge.service or "", tuple(sorted(scopes)))


def _basic(credential: Credential) -> dict[str, str]:
    pair = f"{credential.username or ''}:{credential.password or ''}".encode()
    return {"Authorization": f"Basic {base64.b64encode(pair).decode()}"}


def _token_from(response: httpx.Response, what: str) -> Token:
    if response.status_code != 200:
        error = error_from_response(response, what)
        if response.status_code in (400, 401):
            # Token servers refuse bad credentials with 401 (GET) or 400 invalid_grant (POST).
            raise Unauthorized(str(error), status=response.status_code, code=error.code)
        raise error
    try:
        body = response.json()
        value = body.get("token") or body.get("access_token")
    except (*NOT_JSON, AttributeError):
        value, body = None, {}
    if not isinstance(value, str) or not value:
        raise RegistryError(f"{what}: the token server answered without a token")
    lifetime = body.get("expires_in")
    if not isinstance(lifetime, int) or isinstance(lifetime, bool) or lifetime <= 0:
        lifetime = DEFAULT_LIFETIME
    # Counted from now, not from `issued_at` (which the spec allows): our clock and the token
    # server's need not agree.
    # Renew before expiry: a fifth of the lifetime early, at most 30 s.
    margin = min(30.0, lifetime / 5)
    refresh = body.get("refresh_token")
    return Token(
        value,
        time.monotonic() + lifetime - margin,
        refresh if isinstance(refresh, str) and refresh else None,
    )
