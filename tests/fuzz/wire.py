"""Requests as the fuzzer sends them: through httpx when HTTP itself is well formed, or written
byte by byte on a socket when the framing is the point (a Content-Length that lies, a body cut
short, header bytes httpx refuses). Either way the answer is an `Answer`."""

from __future__ import annotations

import http.client
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import quote

Header = tuple[bytes, bytes]


@dataclass(frozen=True, slots=True)
class Answer:
    method: str
    target: str  # the path and query as sent, percent-encoded
    status: int | None  # None: the connection closed without an answer
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""
    raw: bool = False  # sent on a bare socket
    sent: str = ""  # what else was sent (headers, body size), for failure messages

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    def describe(self) -> str:
        body = self.body[:600].decode("utf-8", "replace")
        sent = f" ({self.sent})" if self.sent else ""
        return f"{self.method} {self.target[:300]}{sent} -> {self.status} {body!r}"


def encode(text: str, safe: str = "") -> str:
    """Percent-encode text as UTF-8; lone surrogates become the bytes no decoder accepts."""
    return quote(text.encode("utf-8", "surrogatepass"), safe=safe)


def sent(headers: Sequence[Header], body: bytes) -> str:
    """Headers and body, shortened for a failure message (the Authorization value hidden)."""
    shown = [
        f"{name.decode('latin-1')}: "
        + ("..." if name.lower() == b"authorization" else repr(value[:120])[2:-1])
        for name, value in headers
    ]
    return "; ".join([*shown, f"{len(body)} bytes of body {body[:80]!r}"])


def raw_request(
    address: tuple[str, int],
    method: str,
    target: str,
    headers: Sequence[Header],
    body: bytes,
    *,
    half_close: bool = True,
    timeout: float = 20,
) -> Answer:
    """Write the request exactly as given (no Content-Length is added), then, with
    `half_close`, shut the sending side, as a client that gave up on its body does."""
    head = [f"{method} {target} HTTP/1.1".encode("utf-8", "surrogatepass")]
    names = {name.lower() for name, _ in headers}
    if b"host" not in names:
        head.append(b"Host: %s:%d" % (address[0].encode(), address[1]))
    head += [name + b": " + value for name, value in headers]
    head.append(b"Connection: close")
    message = b"\r\n".join(head) + b"\r\n\r\n" + body
    with socket.create_connection(address, timeout=timeout) as sock:
        try:
            sock.sendall(message)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
        except TimeoutError:
            raise
        except OSError:
            pass  # refused early: whatever answer came is still in the receive buffer
        response = http.client.HTTPResponse(sock, method=method)
        try:
            response.begin()
            content = b"" if method == "HEAD" else response.read()
        except (http.client.RemoteDisconnected, ConnectionResetError):
            return Answer(method, target, None, raw=True, sent=sent(headers, body))
        except http.client.IncompleteRead as exc:
            content = exc.partial
        answer_headers = {name.lower(): value for name, value in response.getheaders()}
        return Answer(
            method, target, response.status, answer_headers, content, True, sent(headers, body)
        )
