"""HTTPS served by Dockyard itself, with certificates the tests make: the chain, HTTP/2 by ALPN,
URLs that say https, a certificate replaced on disk served without a restart, client
certificates required."""

from __future__ import annotations

import shutil
import ssl
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.support.certificates import CertificateAuthority, Issued
from tests.support.tls import client_context, https_dockyard, peer_serial, tls_settings


@pytest.fixture
def ca(tmp_path: Path) -> CertificateAuthority:
    return CertificateAuthority(tmp_path / "ca")


def test_https_with_http2_by_alpn_and_https_urls(ca: CertificateAuthority, tmp_path: Path) -> None:
    context = client_context(ca)
    settings = tls_settings(ca.server("registry"))
    env = {"DOCKYARD_AUTH__MODE": "index", "DOCKYARD_ADMIN_PASSWORD": "a-long-admin-password"}
    with https_dockyard(tmp_path / "data", settings, context, env=env) as server:
        with httpx.Client(verify=context, http2=True) as h2:
            answer = h2.get(f"{server.url}/v2/")
            assert answer.http_version == "HTTP/2"
            # The token realm names the scheme the client came in on.
            assert answer.status_code == 401
            challenge = answer.headers["www-authenticate"]
            assert f'realm="https://{server.host}/token"' in challenge
            assert h2.get(f"{server.url}/healthz").json() == {"status": "ok"}
        with httpx.Client(verify=context) as h1:
            answer = h1.get(f"{server.url}/readyz")
            assert (answer.http_version, answer.status_code) == ("HTTP/1.1", 200)
        # Plain HTTP on the TLS port is no way in.
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://{server.host}/v2/", timeout=5).raise_for_status()


def test_a_certificate_replaced_on_disk_is_served_without_a_restart(
    ca: CertificateAuthority, tmp_path: Path
) -> None:
    context = client_context(ca)
    first = ca.server("first")
    # Fixed paths, as an operator's: the files are replaced, the configuration stays.
    live = Issued(tmp_path / "tls" / "server.crt", tmp_path / "tls" / "server.key", first.serial)
    live.certificate.parent.mkdir()
    shutil.copy(first.certificate, live.certificate)
    shutil.copy(first.key, live.key)
    with https_dockyard(tmp_path / "data", tls_settings(live), context) as server:
        port = int(server.host.rpartition(":")[2])
        assert peer_serial(port, context) == first.serial
        failures: list[str] = []
        answered = _keep_asking(server.url, context, failures)

        # A broken certificate is not taken: the previous one is still served.
        _replace(live.certificate, b"not a certificate\n")
        time.sleep(3)
        assert peer_serial(port, context) == first.serial
        assert "cannot be used" in server.log.read_text()

        second = ca.server("second")
        changed = time.monotonic()
        _replace(live.key, second.key.read_bytes())
        _replace(live.certificate, second.certificate.read_bytes())
        delay = _until_only(port, context, second.serial, changed)
        print(f"the new certificate was served {delay:.1f} s after it was written")
        answered.stop()
        assert server.process.poll() is None
        # The old worker's graceful stop closes the few connections it had just accepted
        # without an answer (Granian's, as hyper's graceful shutdown); answered requests never
        # fail, and a request on a kept-alive connection closed under it is resent once, as
        # clients do (docs/operations.md#tls).
        assert all(failure.startswith("new: ") for failure in failures), failures
        assert len(failures) <= 5, failures
        assert answered.count > 20


def test_client_certificates_required_when_client_cas_are_set(
    ca: CertificateAuthority, tmp_path: Path
) -> None:
    clients = CertificateAuthority(tmp_path / "clients", "client CA")
    alice = clients.client("alice")
    stranger = CertificateAuthority(tmp_path / "other", "another CA").client("mallory")
    settings = tls_settings(ca.server("registry"), client_cas=[clients.path])
    with https_dockyard(tmp_path / "data", settings, client_context(ca, alice)) as server:
        with httpx.Client(verify=client_context(ca, alice)) as trusted:
            assert trusted.get(f"{server.url}/v2/").status_code == 200
        for refused in (client_context(ca), client_context(ca, stranger)):
            with pytest.raises((httpx.TransportError, ssl.SSLError)):
                httpx.get(f"{server.url}/v2/", verify=refused, timeout=5)


def test_unusable_tls_files_stop_start_up_with_the_key_named(
    ca: CertificateAuthority, tmp_path: Path
) -> None:
    issued = ca.server("registry")
    other = ca.server("other")
    config = tmp_path / "c.yaml"
    config.write_text(f"http: {{tls: {{certificate: {issued.certificate}, key: {other.key}}}}}\n")
    from tests.support.servers import free_port, spawn_dockyard

    process, log = spawn_dockyard(tmp_path / "data", free_port(), "--config", str(config), env={})
    assert process.wait(timeout=60) == 2
    said = log.read_text()
    # With the files named: OpenSSL's own words name none ("[SSL] KEY_VALUES_MISMATCH").
    assert "http.tls:" in said and f"certificate {issued.certificate} and key {other.key}" in said


class _Asker:
    def __init__(self) -> None:
        self.count = 0
        self.running = True
        self.threads: list[threading.Thread] = []

    def stop(self) -> None:
        self.running = False
        for thread in self.threads:
            thread.join()


def _keep_asking(url: str, context: ssl.SSLContext, failures: list[str]) -> _Asker:
    """Requests in a loop while the test goes on: on one kept-alive connection, and on a new
    connection each time."""
    asker = _Asker()

    def ask(reuse: bool) -> None:
        client = httpx.Client(verify=context, timeout=30)
        while asker.running:
            try:
                if not reuse:
                    client.close()
                    client = httpx.Client(verify=context, timeout=30)
                status = _get_retrying_a_closed_idle_connection(client, f"{url}/v2/")
                if status != 200:
                    failures.append(f"status {status}")
                asker.count += 1
            except httpx.HTTPError as exc:
                failures.append(f"{'kept' if reuse else 'new'}: {exc!r}")
        client.close()

    for reuse in (True, False):
        thread = threading.Thread(target=ask, args=(reuse,), daemon=True)
        thread.start()
        asker.threads.append(thread)
    return asker


def _get_retrying_a_closed_idle_connection(client: httpx.Client, url: str) -> int:
    """A GET, sent once more on a new connection when a kept-alive one was closed under it.

    A server that closes an idle connection (here the old worker's graceful stop) races the
    client's next request on it: HTTP/1.1 has no way to avoid that, and clients resend an
    idempotent request that got no answer at all (Go's net/http, which docker and containerd
    use, does it by itself; httpx does not)."""
    try:
        return client.get(url).status_code
    except httpx.RemoteProtocolError as exc:
        if "without sending a response" not in str(exc):
            raise
        return client.get(url).status_code


def _replace(path: Path, content: bytes) -> None:
    """As tools that rotate certificates do: write beside, then rename over."""
    partial = path.with_suffix(".new")
    partial.write_bytes(content)
    partial.replace(path)


def _until_only(port: int, context: ssl.SSLContext, serial: int, since: float) -> float:
    """Seconds from `since` until new connections are served `serial` (ten in a row)."""
    deadline = since + 30
    in_a_row = 0
    first_seen = None
    while in_a_row < 10:
        assert time.monotonic() < deadline, "the new certificate was not served within 30 s"
        if _served_serial(port, context) == serial:
            first_seen = first_seen or time.monotonic()
            in_a_row += 1
        else:
            first_seen = None
            in_a_row = 0
            time.sleep(0.05)
    assert first_seen is not None
    return first_seen - since


def _served_serial(port: int, context: ssl.SSLContext) -> int | None:
    """The serial a new connection is served, or None for a connection the old worker
    accepted as it stopped and closed unanswered (see the test's last assertions)."""
    try:
        return peer_serial(port, context)
    except (ConnectionResetError, ssl.SSLError):
        return None
