"""A TCP forwarder on a loopback port that can slow what the server sends down to a set rate,
and counts those bytes: a download made long enough to interrupt, and a measure of how much
of it a resumed one asked for again."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from tests.support.servers import free_port

PIECE = 16384


class SlowProxy:
    """Forwards 127.0.0.1:`port` to `target` ("host:port"). `rate`: bytes a second from the
    server to the client (None: as fast as they come); `sent`: the bytes sent that way on
    each connection, in the order they were accepted (a connection whose client was killed
    may go on counting for a moment: compare connections, not totals)."""

    def __init__(self, target: str, rate: float | None = None) -> None:
        host, port = target.rsplit(":", 1)
        self.target = (host, int(port))
        self.port = free_port()
        self.rate = rate
        self.sent: list[int] = []
        self.loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        asyncio.run_coroutine_threadsafe(self._listen(), self.loop).result(10)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._forward, "127.0.0.1", self.port)

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in asyncio.all_tasks():
            if task is not asyncio.current_task():
                task.cancel()

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        connection = len(self.sent)
        self.sent.append(0)
        await asyncio.gather(
            self._pipe(reader, upstream_writer, None),
            self._pipe(upstream_reader, writer, connection),
            return_exceptions=True,
        )

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, counted: int | None
    ) -> None:
        """Copy until EOF; `counted`: the connection whose downstream this is (None: the
        client's requests, neither counted nor slowed)."""
        try:
            while data := await reader.read(PIECE):
                writer.write(data)
                await writer.drain()
                if counted is not None:
                    self.sent[counted] += len(data)
                    if self.rate:
                        await asyncio.sleep(len(data) / self.rate)
        finally:
            with contextlib.suppress(Exception):
                writer.close()


@contextmanager
def slow_proxy(target: str, rate: float | None = None) -> Iterator[SlowProxy]:
    proxy = SlowProxy(target, rate)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()
