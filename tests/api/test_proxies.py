"""Behind a reverse proxy: forwarded headers believed from `http.trusted_proxies` only, for the
client's address (login throttling) and for the URLs Dockyard writes; nginx terminating TLS in
front."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import pytest

from tests.support.auth import basic
from tests.support.certificates import CertificateAuthority
from tests.support.nginx import missing_nginx, nginx_in_front
from tests.support.servers import DockyardServer, dockyard_server
from tests.support.tls import client_context

SPOOFED = {
    "X-Forwarded-For": "203.0.113.7",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "evil.example",
    "Forwarded": 'for=203.0.113.8;proto=https;host="evil.example"',
}


def _index_env(trusted: str | None) -> dict[str, str]:
    env = {
        "DOCKYARD_AUTH__MODE": "index",
        "DOCKYARD_ADMIN_PASSWORD": "a-long-admin-password",
        "DOCKYARD_AUTH__THROTTLE__MAX_FAILURES_PER_ADDRESS": "3",
    }
    if trusted is not None:
        env["DOCKYARD_HTTP__TRUSTED_PROXIES"] = trusted
    return env


def _failed_logins(client: httpx.Client, count: int, headers: dict[str, str]) -> list[int]:
    """Wrong passwords for distinct accounts (so only the per-address limit can bite)."""
    statuses = []
    for number in range(count):
        user = f"nobody{number}-{len(headers)}"
        answer = client.get(
            "/token", params={"service": "dockyard"}, headers={**basic(user, "x"), **headers}
        )
        statuses.append(answer.status_code)
    return statuses


@pytest.mark.parametrize("trusted", [None, '["10.0.0.0/8"]'], ids=["no-proxy", "other-proxy"])
def test_forwarded_headers_from_an_untrusted_peer_are_ignored(
    trusted: str | None, tmp_path: Path
) -> None:
    with (
        dockyard_server(tmp_path / "data", env=_index_env(trusted)) as server,
        httpx.Client(base_url=server.url) as client,
    ):
        challenge = client.get("/v2/", headers=SPOOFED).headers["www-authenticate"]
        assert f'realm="{server.url}/token"' in challenge
        # Each "client" claims another address: all of them are this one peer.
        statuses = [
            *_failed_logins(client, 2, {"X-Forwarded-For": "198.51.100.1"}),
            *_failed_logins(client, 2, {"Forwarded": "for=198.51.100.2"}),
        ]
        assert statuses == [401, 401, 401, 429]


def test_forwarded_headers_from_a_trusted_proxy_are_believed(tmp_path: Path) -> None:
    with (
        dockyard_server(tmp_path / "data", env=_index_env('["127.0.0.1"]')) as server,
        httpx.Client(base_url=server.url) as client,
    ):
        challenge = client.get("/v2/", headers=SPOOFED).headers["www-authenticate"]
        # Forwarded (RFC 7239) wins over the X-Forwarded-* headers.
        assert 'realm="https://evil.example/token"' in challenge
        legacy = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "registry.example:8443"}
        challenge = client.get("/v2/", headers=legacy).headers["www-authenticate"]
        assert 'realm="https://registry.example:8443/token"' in challenge
        assert _failed_logins(client, 3, {"X-Forwarded-For": "198.51.100.1"}) == [401] * 3
        assert _failed_logins(client, 1, {"X-Forwarded-For": "198.51.100.1"}) == [429]
        # Another client behind the same proxy is not throttled for the first one's failures.
        assert _failed_logins(client, 1, {"X-Forwarded-For": "198.51.100.2"}) == [401]


@pytest.fixture
def nginx_available() -> None:
    reason = missing_nginx()
    if reason is not None:
        pytest.fail(f"{reason} (make test installs the Debian packages)")


@pytest.mark.usefixtures("nginx_available")
def test_nginx_terminating_tls_in_front(tmp_path: Path) -> None:
    ca = CertificateAuthority(tmp_path / "ca")
    env = _index_env('["127.0.0.1"]')
    with (
        dockyard_server(tmp_path / "data", env=env) as server,
        nginx_in_front(_port(server), ca.server("nginx"), tmp_path / "nginx") as front,
    ):

        def from_address(address: str) -> httpx.Client:
            # Clients on other loopback addresses: nginx tells Dockyard who they are.
            return httpx.Client(base_url=front.url, transport=_from(address, ca), timeout=30)

        with from_address("127.0.0.2") as first, from_address("127.0.0.3") as second:
            challenge = first.get("/v2/").headers["www-authenticate"]
            assert f'realm="{front.url}/token"' in challenge
            assert _failed_logins(first, 4, {}) == [401, 401, 401, 429]
            # A second client is counted apart, and cannot pass for the first (nginx appends
            # the address it saw to what the client claims, and that one is believed).
            assert _failed_logins(second, 1, {"X-Forwarded-For": "127.0.0.9"}) == [401]
            assert _failed_logins(second, 2, {}) == [401, 401]
            assert _failed_logins(second, 1, {}) == [429]

        # A push through the proxy (from a third address: the two above are throttled now),
        # with Location paths that the client resolves against the public URL.
        with from_address("127.0.0.4") as third:
            token = third.get(
                "/token",
                params={"service": "dockyard", "scope": "repository:admin/app:pull,push"},
                headers=basic("admin", "a-long-admin-password"),
            ).json()["token"]
            auth = {"Authorization": f"Bearer {token}"}
            blob = b"through nginx\n" * 1000
            digest = "sha256:" + hashlib.sha256(blob).hexdigest()
            started = third.post("/v2/admin/app/blobs/uploads/", headers=auth)
            assert started.status_code == 202, started.text
            location = started.headers["location"]
            assert location.startswith("/v2/admin/app/blobs/uploads/")
            done = third.put(location, params={"digest": digest}, content=blob, headers=auth)
            assert done.status_code == 201, done.text
            assert third.get(done.headers["location"], headers=auth).content == blob


def _port(server: DockyardServer) -> int:
    return int(server.host.rpartition(":")[2])


def _from(address: str, ca: CertificateAuthority) -> httpx.HTTPTransport:
    return httpx.HTTPTransport(local_address=address, verify=client_context(ca))
