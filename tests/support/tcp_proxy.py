"""A TCP forwarder on a loopback port, between a test's client and a server: it can be cut and
restored (a dependency made unreachable and reachable again without stopping it), and it can
slow one direction to a set rate and count its bytes (a transfer made long enough to
interrupt, and a measure of how much of it a resumed one sent again), or stand for a network
link of a given bandwidth that every connection shares."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

from tests.support.servers import free_port

PIECE = 16384
# A link's pieces: its pacing is over all connections, and the forwarder's own CPU (a sleep
# and a copy per piece) should not be what limits it.
LINK_PIECE = 256 * 1024


class TcpProxy:
    """Forwards 127.0.0.1:`port` to `target` ("host:port").

    `cut()` closes the listener and every connection through it (connections are then
    refused); `restore()` listens again on the same port. `rate`: bytes a second in the
    `slowed` direction ("answers": from the server, "requests": to it; None: as fast as they
    come), for each connection, or with `link`, for all of them together (a link that
    bandwidth, as between a registry and a remote one); `sent`: the bytes sent that way on each
    connection, in the order they were accepted (a connection whose client was killed may go
    on counting for a moment: compare connections, not totals)."""

    def __init__(
        self,
        target: str,
        rate: float | None = None,
        slowed: Literal["answers", "requests"] = "answers",
        link: bool = False,
    ) -> None:
        host, port = target.rsplit(":", 1)
        self.target = (host, int(port))
        self.port = free_port()
        self.rate = rate
        self.slowed = slowed
        self.link = link
        self._link_free_at = 0.0  # when the link has sent what it was given (loop time)
        self.sent: list[int] = []
        self.loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def restore(self) -> None:
        self._call(self._close())
        self._call(self._listen())

    def cut(self) -> None:
        self._call(self._close())

    def silence(self) -> None:
        """Stand for a server that froze: connections are taken and read, and nothing is
        answered (those open are closed first, so that every request comes on a new one).
        `restore()` forwards again."""
        self._call(self._close())
        self._call(self._listen(silent=True))

    def stop(self) -> None:
        self.cut()
        self.loop.call_soon_threadsafe(self.loop.stop)

    def _call(self, work: object) -> None:
        asyncio.run_coroutine_threadsafe(work, self.loop).result(10)  # type: ignore[arg-type]

    async def _listen(self, silent: bool = False) -> None:
        handler = self._swallow if silent else self._forward
        self._server = await asyncio.start_server(handler, "127.0.0.1", self.port)

    async def _swallow(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        with contextlib.suppress(Exception):
            while await reader.read(PIECE):
                pass

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        connection = len(self.sent)
        self.sent.append(0)
        answers = connection if self.slowed == "answers" else None
        requests = connection if self.slowed == "requests" else None
        self._writers.update({writer, upstream_writer})
        await asyncio.gather(
            self._pipe(reader, upstream_writer, requests),
            self._pipe(upstream_reader, writer, answers),
            return_exceptions=True,
        )
        self._writers.difference_update({writer, upstream_writer})

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, counted: int | None
    ) -> None:
        """Copy until EOF; `counted`: the connection whose slowed direction this is (None:
        the other direction, neither counted nor slowed)."""
        try:
            while data := await reader.read(LINK_PIECE if self.link else PIECE):
                writer.write(data)
                await writer.drain()
                if counted is not None:
                    self.sent[counted] += len(data)
                    if self.rate:
                        await asyncio.sleep(self._pace(len(data), self.rate))
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    def _pace(self, size: int, rate: float) -> float:
        """How long to wait after sending `size` bytes in the slowed direction."""
        if not self.link:
            return size / rate
        now = self.loop.time()
        self._link_free_at = max(now, self._link_free_at) + size / rate
        return self._link_free_at - now


@contextmanager
def tcp_proxy(
    target: str,
    rate: float | None = None,
    slowed: Literal["answers", "requests"] = "answers",
    link: bool = False,
) -> Iterator[TcpProxy]:
    proxy = TcpProxy(target, rate, slowed, link)
    proxy.restore()
    try:
        yield proxy
    finally:
        proxy.stop()
