"""Mirror configurations for test servers, and a tiny upstream that misbehaves on purpose."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any


def mirror_env(*rules: dict[str, Any], **settings: str) -> dict[str, str]:
    """The environment of a Dockyard server with these `mirrors` rules."""
    return {"DOCKYARD_MIRRORS": json.dumps(list(rules)), **settings}


def upstream(url: str, user: str | None = None, password: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"url": url}
    if user is not None:
        found |= {"username": user, "password": password}
    return found


@dataclass
class Answer:
    """What the bad upstream sends for one path: a status, headers, and the body in pieces with
    a pause before each."""

    status: int = 200
    headers: dict[str, str] | None = None
    pieces: tuple[bytes, ...] = ()
    pause: float = 0.0
    # The Content-Length sent when it is not the body's (-1: none); either way the connection
    # closes after the body, as the client cannot tell where it ends.
    length: int | None = None


@contextmanager
def bad_upstream(
    answers: dict[tuple[str, str], Answer], seen: list[str] | None = None
) -> Iterator[str]:
    """An HTTP/1.1 server on a loopback port, in a thread of its own: `(method, path)` (the
    path without its query) → Answer, 404 for anything else; yields `127.0.0.1:PORT`. Each
    request line's method and target go to `seen`; request bodies are read and dropped."""
    ready = threading.Event()
    loop = asyncio.new_event_loop()
    address: list[str] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request = await reader.readline()
                if not request:
                    return
                await _skip_body(reader, await _headers(reader))
                method, target, _version = request.decode().split(" ", 2)
                if seen is not None:
                    seen.append(f"{method} {target}")
                path = target.split("?", 1)[0]
                found = answers.get((method, path), Answer(404, pieces=(b"{}",)))
                length = sum(len(piece) for piece in found.pieces)
                if found.length is not None:
                    length = found.length
                head = f"HTTP/1.1 {found.status} X\r\n"
                if length >= 0:
                    head += f"Content-Length: {length}\r\n"
                for key, value in (found.headers or {}).items():
                    head += f"{key}: {value}\r\n"
                writer.write(head.encode("utf-8", "surrogatepass") + b"\r\n")
                if method != "HEAD":
                    for piece in found.pieces:
                        if found.pause:
                            await asyncio.sleep(found.pause)
                        writer.write(piece)
                        await writer.drain()
                await writer.drain()
                if found.length is not None:
                    return
        except (ConnectionError, ValueError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # cancelled: the server stops mid-answer
        finally:
            writer.close()

    async def serve() -> None:
        server = await asyncio.start_server(answer, "127.0.0.1", 0)
        address.append(f"127.0.0.1:{server.sockets[0].getsockname()[1]}")
        ready.set()
        async with server:
            with contextlib.suppress(asyncio.CancelledError):
                await server.serve_forever()
        # The answers under way end here too, before the loop does.
        answering = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in answering:
            task.cancel()
        await asyncio.gather(*answering, return_exceptions=True)

    serving = loop.create_task(serve())
    thread = threading.Thread(target=lambda: loop.run_until_complete(serving), daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield address[0]
    finally:
        loop.call_soon_threadsafe(serving.cancel)
        thread.join(5)
        if not thread.is_alive():
            loop.close()


async def _headers(reader: asyncio.StreamReader) -> dict[str, str]:
    found = {}
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        found[name.strip().lower()] = value.strip()
    return found


async def _skip_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> None:
    if headers.get("transfer-encoding", "").lower() == "chunked":
        while size := int((await reader.readline()).split(b";")[0] or b"0", 16):
            await reader.readexactly(size + 2)
        while await reader.readline() not in (b"\r\n", b""):  # trailers
            pass
    elif headers.get("content-length", "").isdigit():
        await reader.readexactly(int(headers["content-length"]))
