"""HTTP/1.1 by hand over a socket, for what ordinary clients never send: bodies shorter than
their Content-Length, a half-closed connection, several requests on one connection with
bodies the server did not read."""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def connect(url: str) -> socket.socket:
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    return socket.create_connection((parts.hostname, parts.port), timeout=30)


def send_head(sock: socket.socket, method: str, path: str, headers: dict[str, str]) -> None:
    lines = [
        f"{method} {path} HTTP/1.1",
        "Host: dockyard",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())


def read_response(sock: socket.socket) -> RawResponse:
    """One response with a Content-Length (as every Dockyard error answer has)."""
    reader = sock.makefile("rb")
    status_line = reader.readline().decode()
    assert status_line.startswith("HTTP/1.1 "), status_line
    headers = {}
    while (line := reader.readline().decode().strip()) != "":
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    body = reader.read(int(headers.get("content-length", "0")))
    reader.close()
    return RawResponse(int(status_line.split()[1]), headers, body)


class BackgroundSender:
    """Sends `size` bytes of body from a thread, keeping a failure (a reset) to look at."""

    def __init__(self, sock: socket.socket, size: int) -> None:
        self.sock = sock
        self.left = size
        self.error: OSError | None = None
        self.thread = threading.Thread(target=self._send, daemon=True)
        self.thread.start()

    def _send(self) -> None:
        block = b"x" * 65536
        try:
            while self.left > 0:
                self.left -= self.sock.send(block[: min(self.left, len(block))])
        except OSError as exc:
            self.error = exc

    def join(self, timeout: float) -> None:
        self.thread.join(timeout)
