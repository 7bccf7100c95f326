"""What forwarded headers say, and whom the middleware believes."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.types import Receive, Scope, Send

from dockyard.kit.forwarded import Forwarded, ForwardedMiddleware, read


def _headers(**values: str) -> list[tuple[bytes, bytes]]:
    return [(k.replace("_", "-").encode(), v.encode()) for k, v in values.items()]


def test_x_forwarded_headers_are_read_with_junk_dropped() -> None:
    said = read(
        _headers(
            x_forwarded_for="203.0.113.7, unknown, [2001:db8::1]:443, 10.0.0.2:8080",
            x_forwarded_proto="HTTPS, http",
            x_forwarded_host="registry.example:8443",
        )
    )
    assert said == Forwarded(
        ["203.0.113.7", "2001:db8::1", "10.0.0.2"], "https", "registry.example:8443"
    )


@pytest.mark.parametrize("host", ["evil.example/path", "a b", "x\r\nSet-Cookie: y", "[::1", ""])
def test_a_host_that_is_no_host_is_ignored(host: str) -> None:
    assert read([(b"x-forwarded-host", host.encode("latin-1"))]).host is None


def test_forwarded_wins_over_the_x_headers() -> None:
    said = read(
        _headers(
            forwarded='for="[2001:db8::7]:1234";proto=https;host=hub.example, for=10.0.0.2',
            x_forwarded_for="198.51.100.1",
            x_forwarded_proto="http",
        )
    )
    assert said == Forwarded(["2001:db8::7", "10.0.0.2"], "https", "hub.example")


def test_the_client_is_the_nearest_untrusted_address() -> None:
    middleware = ForwardedMiddleware(_nothing, ["10.0.0.0/8", "127.0.0.1"])
    assert middleware.client_of(["198.51.100.1", "203.0.113.7", "10.0.0.2"]) == "203.0.113.7"
    assert middleware.client_of(["10.0.0.3", "10.0.0.2"]) == "10.0.0.3"
    assert not middleware.is_trusted("127.0.0.2")
    assert not middleware.is_trusted("not an address")


HEADER = st.sampled_from(
    [b"forwarded", b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host"]
)


@given(st.lists(st.tuples(HEADER, st.binary(max_size=80)), max_size=6))
def test_any_header_bytes_read_to_addresses_schemes_and_hosts(
    headers: list[tuple[bytes, bytes]],
) -> None:
    said = read(headers)
    assert all(ipaddress.ip_address(address) for address in said.addresses)
    assert said.proto in (None, "http", "https")
    assert said.host is None or (said.host.isprintable() and " " not in said.host)


async def _nothing(scope: Scope, receive: Receive, send: Send) -> None:
    return None
