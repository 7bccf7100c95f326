"""Wraps every request: a request id, the API version header, and one access-log line."""

from __future__ import annotations

import logging
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("dockyard.access")

API_VERSION = (b"docker-distribution-api-version", b"registry/2.0")


class RegistryMiddleware:
    def __init__(self, app: ASGIApp, access_log: bool = True) -> None:
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = uuid.uuid4().hex
        status = 0
        sent = 0

        async def stamped(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", ()),
                    API_VERSION,
                    (b"x-request-id", request_id.encode()),
                ]
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, stamped)
        finally:
            if self.access_log:
                # The path only: query strings can carry credentials (tokens, state).
                log.info(
                    "%s %s %d %d %.1fms %s",
                    scope["method"],
                    scope["path"],
                    status,
                    sent,
                    (time.perf_counter() - started) * 1000,
                    request_id,
                )
