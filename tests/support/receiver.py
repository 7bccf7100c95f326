"""A real HTTP receiver of registry events on a loopback port: it keeps every envelope it
accepted, and can be told to refuse for a while. Given a certificate, it serves HTTPS."""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.certificates import Issued


@dataclass
class Delivery:
    headers: dict[str, str]
    envelope: dict[str, Any]


@dataclass
class Receiver:
    url: str
    accepted: list[Delivery] = field(default_factory=list)
    refused: int = 0  # requests answered with an error while refusing
    refused_ids: set[str] = field(default_factory=set)  # the events in those requests
    refusing: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)
    server_names: list[str | None] = field(default_factory=list)  # by TLS handshake (SNI)

    @property
    def events(self) -> list[dict[str, Any]]:
        """Every event accepted, in the order received."""
        with self.lock:
            return [event for d in self.accepted for event in d.envelope["events"]]

    def wait_for(
        self, condition: Callable[[list[dict[str, Any]]], bool], seconds: float = 60
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            events = self.events
            if condition(events):
                return events
            time.sleep(0.1)
        raise AssertionError(f"the receiver did not get what was expected; it has {self.events}")

    def wait_for_count(self, count: int, seconds: float = 60) -> list[dict[str, Any]]:
        return self.wait_for(lambda events: len(events) >= count, seconds)


@contextmanager
def event_receiver(tls: Issued | None = None) -> Iterator[Receiver]:
    """Over HTTPS at `https://localhost:PORT/events` when `tls` is given."""
    receiver = Receiver("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            if receiver.refusing:
                with receiver.lock:
                    receiver.refused += 1
                    receiver.refused_ids.update(e["id"] for e in json.loads(body)["events"])
                self.send_response(503)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            delivery = Delivery(dict(self.headers.items()), json.loads(body))
            with receiver.lock:
                receiver.accepted.append(delivery)
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/events"
    if tls is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(tls.certificate, tls.key)
        context.sni_callback = lambda _, name, __: receiver.server_names.append(name)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        receiver.url = f"https://localhost:{server.server_address[1]}/events"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


def notifications_config(*endpoints: dict[str, Any], allow_private: bool = True) -> str:
    """A YAML configuration (JSON is YAML) with these notification endpoints."""
    return json.dumps(
        {"notifications": {"endpoints": list(endpoints), "allow_private_targets": allow_private}}
    )
