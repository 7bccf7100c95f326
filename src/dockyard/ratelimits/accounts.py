"""The per-account half of the request limits, checked where an account becomes known. Kept
apart from the `limits` library (requests.py): the registry's and the index's sign-in paths
import this whether limits are configured or not."""

from __future__ import annotations

from typing import Protocol

from starlette.types import Scope

from dockyard.kit.errors import ErrorCode
from dockyard.registry.errors import RegistryError

# The classes of requests that limits count apart (requests.py's class_of).
CLASSES = ("pull", "push", "token", "api", "search")
# What the middleware (requests.py) leaves in a request's scope for the check further in.
CLASS_KEY = "dockyard.ratelimit.class"
LIMITER_KEY = "dockyard.ratelimit.limiter"


class AccountLimiter(Protocol):
    def limits_accounts(self, name: str) -> bool: ...

    async def retry_after(self, name: str, kind: str, key: str) -> int | None: ...


class RateLimited(RegistryError):
    """429 TOOMANYREQUESTS with Retry-After."""

    def __init__(self, retry_after: int, what: str) -> None:
        message = f"too many {what} requests; retry in {retry_after} s"
        headers = {"Retry-After": str(retry_after)}
        super().__init__(ErrorCode.TOOMANYREQUESTS, message, headers=headers)
        self.retry_after = retry_after


async def check_account(scope: Scope, subject: str | None) -> None:
    """Count the request against its class's per-account limit, now that `subject` is known;
    RateLimited past it. Nothing for anonymous requests (their address was counted)."""
    limiter: AccountLimiter | None = scope.get(LIMITER_KEY)
    name = scope.get(CLASS_KEY)
    if limiter is None or name is None or not subject or not limiter.limits_accounts(name):
        return
    wait = await limiter.retry_after(name, "per_account", subject)
    if wait is not None:
        raise RateLimited(wait, name)
