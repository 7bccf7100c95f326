"""Blob upload requests in progress per client address (per process): past
`http.limits.max_uploads_per_client`, 429 until one ends. One client opening thousands of
uploads would hold as many connections, sessions and open files."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from dockyard.ratelimits.accounts import RateLimited


def is_upload(scope: Scope) -> bool:
    """A request that carries or starts a blob upload (before routing: by path)."""
    return scope["method"] in ("POST", "PATCH", "PUT") and "/blobs/uploads/" in scope["path"]


class UploadConcurrencyMiddleware:
    def __init__(self, app: ASGIApp, most: int) -> None:
        self.app = app
        self.most = most
        self._in_progress: dict[str, int] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_upload(scope):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        address = str(client[0]) if client else "unknown"
        running = self._in_progress.get(address, 0)
        if running >= self.most:
            refused = RateLimited(1, f"concurrent upload (at most {self.most} at once)")
            await refused.response()(scope, receive, send)
            return
        self._in_progress[address] = running + 1
        try:
            await self.app(scope, receive, send)
        finally:
            left = self._in_progress[address] - 1
            if left:
                self._in_progress[address] = left
            else:
                del self._in_progress[address]
