"""docker, skopeo and podman push and pull over HTTPS with a CA and certificates the test made.
skopeo and podman check the server's certificate against the CA in their --cert-dir, and present
the client certificate there, which the server requires."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.test_docker import build_image as docker_build
from tests.e2e.test_docker import image_id
from tests.e2e.test_podman import build_image as podman_build
from tests.e2e.test_skopeo import single_image_layout
from tests.support.certificates import CertificateAuthority
from tests.support.clients import ClientError, Podman, Skopeo
from tests.support.docker_engine import docker_available, docker_engine
from tests.support.servers import DockyardServer
from tests.support.tls import client_context, https_dockyard, tls_settings

pytestmark = pytest.mark.e2e


@dataclass
class TlsRegistry:
    server: DockyardServer
    certs: Path  # ca.crt, client.cert, client.key: what containers/image and dockerd read


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> CertificateAuthority:
    return CertificateAuthority(tmp_path_factory.mktemp("tls-ca"))


@pytest.fixture(scope="module")
def registry(
    authority: CertificateAuthority, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TlsRegistry]:
    """A registry that requires a client certificate of the test's client CA."""
    base = tmp_path_factory.mktemp("tls-e2e")
    clients = CertificateAuthority(base / "clients", "client CA")
    client = clients.client("e2e")
    certs = base / "certs"
    certs.mkdir()
    shutil.copy(authority.path, certs / "ca.crt")
    shutil.copy(client.certificate, certs / "client.cert")
    shutil.copy(client.key, certs / "client.key")
    settings = tls_settings(authority.server("registry"), client_cas=[clients.path])
    context = client_context(authority, client)
    with https_dockyard(base / "data", settings, context) as server:
        yield TlsRegistry(server, certs)


def test_skopeo_copies_over_https(registry: TlsRegistry, skopeo: Skopeo, tmp_path: Path) -> None:
    single_image_layout(tmp_path / "layout", "v1")
    target = f"docker://{registry.server.host}/tls/skopeo:v1"
    certs = str(registry.certs)
    pushed = _digest(
        skopeo, tmp_path, "--dest-cert-dir", certs, "oci:" + str(tmp_path / "layout:v1"), target
    )
    pulled = _digest(
        skopeo, tmp_path, "--src-cert-dir", certs, target, f"oci:{tmp_path / 'out'}:v1"
    )
    assert pushed == pulled
    # Without the CA (and the client certificate) nothing is sent.
    refused = skopeo.run("inspect", target, check=False)
    assert refused.returncode != 0
    assert "certificate" in refused.stderr


def _digest(skopeo: Skopeo, tmp_path: Path, *args: str) -> str:
    digestfile = tmp_path / "digest"
    digestfile.unlink(missing_ok=True)
    skopeo.run("copy", "--digestfile", str(digestfile), *args)
    return digestfile.read_text().strip()


def test_podman_pushes_and_pulls_over_https(
    registry: TlsRegistry, podman: Podman, tmp_path: Path
) -> None:
    name = f"localhost/tls-{uuid.uuid4().hex[:8]}:v1"
    built = podman_build(podman, tmp_path / "context", name)
    remote = f"{registry.server.host}/tls/podman:v1"
    podman.podman("push", "--cert-dir", str(registry.certs), name, f"docker://{remote}")
    podman.podman("rmi", "-f", name, remote, check=False)
    podman.podman("pull", "--cert-dir", str(registry.certs), remote)
    assert podman.inspect(remote)["Id"] == built
    with pytest.raises(ClientError, match="certificate"):
        podman.podman("pull", remote.replace(":v1", ":v2"))


def test_docker_pushes_and_pulls_over_https(
    authority: CertificateAuthority, tmp_path: Path
) -> None:
    """dockerd treats 127.0.0.0/8 as an insecure registry whatever it is told: it speaks TLS
    there without checking the certificate and without reading certs.d (so without a client
    certificate), falling back to plain HTTP if TLS fails. This registry speaks only TLS, so a
    push and a pull that work went over HTTPS."""
    reason = docker_available()
    if reason is not None:
        pytest.fail(f"{reason} (make test installs the Debian packages)")
    settings = tls_settings(authority.server("registry"))
    with https_dockyard(tmp_path / "data", settings, client_context(authority)) as server:
        # Where an operator puts the CA for a registry elsewhere than on loopback.
        certs_d = Path("/etc/docker/certs.d") / server.host
        certs_d.mkdir(parents=True)
        shutil.copy(authority.path, certs_d / "ca.crt")
        try:
            with docker_engine() as docker:
                tag = f"{server.host}/tls/docker:v1"
                built = docker_build(docker, tmp_path / "context", tag)
                docker.run("push", tag)
                docker.run("rmi", tag)
                docker.run("pull", tag)
                assert image_id(docker, tag) == built
        finally:
            shutil.rmtree(certs_d, ignore_errors=True)
    assert "POST /v2/tls/docker/blobs/uploads/" in server.log.read_text()
