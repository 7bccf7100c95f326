"""Who is asking the token service: a password or a refresh token checked, with failed attempts
throttled per account and per client address and logged (account, address, reason: never the
password or the token)."""

from __future__ import annotations

import logging
from typing import NoReturn

from dockyard.auth.policy import Authenticator
from dockyard.auth.refresh import RefreshTokens
from dockyard.auth.throttle import LoginThrottle, Standing
from dockyard.auth.tokens import InvalidToken
from dockyard.metrics import switch

log = logging.getLogger("dockyard.auth")


class LoginRefused(Exception):
    """The credentials prove nothing; the message is safe to send back."""


class TooManyFailures(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins: retry in {retry_after} seconds")
        self.retry_after = retry_after


class Logins:
    def __init__(
        self, authenticator: Authenticator, refresh: RefreshTokens, throttle: LoginThrottle
    ) -> None:
        self.authenticator = authenticator
        self.refresh = refresh
        self.throttle = throttle

    async def password(self, user: str, password: str, address: str) -> str:
        """The subject `user` and `password` prove; LoginRefused or TooManyFailures if none."""
        standing = await self._check_throttle(user, address)
        subject = await self.authenticator.authenticate(user, password)
        if subject is None:
            await self._fail(user, address, "invalid username or password")
        await self.throttle.succeeded(user, standing)
        return subject

    async def refresh_token(self, token: str, address: str) -> str:
        """The subject a valid refresh token names while that account is still active and its
        credentials unchanged since the token was issued."""
        await self._check_throttle(None, address)
        try:
            claims = self.refresh.verify(token)
        except InvalidToken as exc:
            await self._fail(None, address, str(exc))
        subject = claims.subject
        if not await self.authenticator.active(subject, claims.issued_at):
            await self._fail(subject, address, "the refresh token's account can no longer log in")
        return subject

    async def _check_throttle(self, account: str | None, address: str) -> Standing:
        standing = await self.throttle.standing(account, address)
        retry_after = standing.retry_after
        if retry_after is not None:
            log.warning(
                "login refused: account=%r address=%s reason=throttled (retry in %ds)",
                account,
                address,
                retry_after,
            )
            _count_refusal("throttled")
            raise TooManyFailures(retry_after)
        return standing

    async def _fail(self, account: str | None, address: str, reason: str) -> NoReturn:
        await self.throttle.failed(account, address)
        log.warning("login failed: account=%r address=%s reason=%s", account, address, reason)
        _count_refusal("credentials")
        raise LoginRefused(reason)


def _count_refusal(reason: str) -> None:
    if switch.on:
        from dockyard.metrics import families

        families.logins.labels(reason).inc()
