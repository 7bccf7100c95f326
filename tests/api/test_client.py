"""dockyard.client against real servers over real sockets: Dockyard without auth and in index
mode (its own token service), over HTTPS with a CA, rate-limited, behind a connection that is cut
mid-download, and a server that sends bytes other than the digest's."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gzip
import json
import os
import stat
import sys
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest

from dockyard.client import (
    Credential,
    Denied,
    DigestMismatch,
    DockerConfig,
    HostOptions,
    InvalidContent,
    InvalidURL,
    ManifestUnknown,
    NotFound,
    Pushed,
    RegistryClient,
    RegistryError,
    RegistryUnavailable,
    Repository,
    RetryPolicy,
    StaticCredentials,
    TooLarge,
    TooManyRequests,
    Unauthorized,
)
from dockyard.client.transfer import RegistryEnd, transfer
from dockyard.oci.digest import Digest
from tests.support.certificates import CertificateAuthority
from tests.support.client_images import multi_platform, pull, push
from tests.support.images import OCI_INDEX, OCI_MANIFEST, make_image
from tests.support.index import IndexServer, index_server
from tests.support.mirrors import Answer, bad_upstream
from tests.support.servers import DockyardServer, dockyard_server
from tests.support.tcp_proxy import tcp_proxy
from tests.support.tls import client_context, https_dockyard, tls_settings


def run(work: Callable[[RegistryClient], Awaitable[None]], **options: object) -> None:
    async def main() -> None:
        async with RegistryClient(**options) as client:  # type: ignore[arg-type]
            await work(client)

    asyncio.run(main())


@pytest.fixture(scope="module")
def open_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockyardServer]:
    with dockyard_server(tmp_path_factory.mktemp("client-open") / "data") as server:
        yield server


def fresh(stem: str) -> str:
    return f"client/{stem}-{uuid.uuid4().hex[:8]}"


# --- Dockyard without auth -------------------------------------------------------------------


def test_multi_platform_image_round_trip_skips_then_mounts(open_server: DockyardServer) -> None:
    name, other = fresh("app"), fresh("other")
    image = multi_platform(name)

    async def work(client: RegistryClient) -> None:
        repository = client.registry(open_server.host).repository(name)
        assert set(await push(repository, image, "v1")) == {Pushed.UPLOADED}
        await pull(repository, "v1", image)
        assert set(await push(repository, image, "v1")) == {Pushed.EXISTS}  # HEAD first
        target = client.registry(open_server.host).repository(other)
        for blob in image.blobs:
            assert (await target.push_blob(blob, mount_from=[name])).how is Pushed.MOUNTED
        # A mount the registry cannot do (no such blob there) falls back to an upload.
        pushed = await target.push_blob(b"only here", mount_from=["client/nowhere"])
        assert pushed.how is Pushed.UPLOADED

    run(work)


def test_chunked_upload_tag_pages_catalog_and_delete(open_server: DockyardServer) -> None:
    name = fresh("chunks")
    data = os.urandom(3 * 1024 * 1024 + 17)

    async def work(client: RegistryClient) -> None:
        registry = client.registry(open_server.host)
        repository = registry.repository(name)
        pushed = await repository.push_blob(data, chunk_size=1024 * 1024)
        assert pushed.how is Pushed.UPLOADED
        assert await repository.blob_exists(pushed.digest) == len(data)
        assert await repository.blob_bytes(pushed.digest) == data
        image = multi_platform(name)
        await push(repository, image, "t0")
        for number in range(1, 5):
            await repository.put_manifest(image.index, OCI_MANIFEST.replace("manifest", "index"),
                                          f"t{number}")  # fmt: skip
        assert [tag async for tag in repository.tags(page_size=2)] == [f"t{i}" for i in range(5)]
        assert name in [repo async for repo in registry.catalog(page_size=2)]
        digest = Digest.of(image.index)
        assert (await repository.head_manifest("t3")).digest == digest  # type: ignore[union-attr]
        await repository.delete_manifest(digest)
        with pytest.raises(ManifestUnknown, match=f"{name}:t3"):
            await repository.manifest("t3")
        assert await repository.head_manifest("t3") is None

    run(work)
    pages = open_server.log.read_text().count(f"GET /v2/{name}/tags/list")
    assert pages == 3  # five tags, two a page: every Link followed


def test_referrers_of_a_manifest(open_server: DockyardServer) -> None:
    name = fresh("referrers")
    image = multi_platform(name)

    async def work(client: RegistryClient) -> None:
        repository = client.registry(open_server.host).repository(name)
        await push(repository, image, "v1")
        subject = await repository.manifest("v1")
        signature = await artifact(repository, subject.descriptor.to_json())
        found = await repository.referrers(subject.digest)
        assert [d.digest for d in found] == [signature]
        assert found[0].artifact_type == "application/vnd.example.signature"
        assert await repository.referrers(subject.digest, "application/other") == []

    run(work)


async def artifact(repository: object, subject: dict[str, object]) -> Digest:
    """An OCI artifact (empty config) whose subject is `subject`."""
    from dockyard.client import Repository

    assert isinstance(repository, Repository)
    empty = b"{}"
    await repository.push_blob(empty)
    layer = await repository.push_blob(b"signature bytes")
    document = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": "application/vnd.example.signature",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json",
                   "digest": str(Digest.of(empty)), "size": 2},
        "layers": [{"mediaType": "application/octet-stream", "digest": str(layer.digest),
                    "size": 15}],
        "subject": subject,
    }  # fmt: skip
    return await repository.put_manifest(json.dumps(document).encode(), OCI_MANIFEST)


CHAIN = 100


def test_a_copy_moves_each_manifest_once_however_often_it_is_referenced(
    open_server: DockyardServer,
) -> None:
    """An index that lists one child six times, whose child does the same, four levels down: a
    copy walked path by path read and wrote 6**4 manifests for a few KiB pushed (a source
    registry could hold a replication or a copy for ever). A chain of signatures of signatures
    follows whole, however long: it was followed by recursion, a level each (the recursion
    limit is lowered here so that a short chain shows it)."""
    name, other = fresh("repeated"), fresh("repeated-copy")
    image = make_image(name)

    async def work(client: RegistryClient) -> None:
        registry = client.registry(open_server.host)
        source = registry.repository(name)
        for blob in (image.config, *image.layers):
            await source.push_blob(blob)
        digest = await source.put_manifest(image.manifest, image.media_type)
        child = {"mediaType": image.media_type, "digest": str(digest), "size": len(image.manifest)}
        for level in range(4):
            index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [child] * 6}
            body = json.dumps(index).encode()
            digest = await source.put_manifest(body, OCI_INDEX, f"l{level}")
            child = {"mediaType": OCI_INDEX, "digest": str(digest), "size": len(body)}
        top = digest
        subject, chain = child, []
        for _ in range(CHAIN):
            signature = await artifact(source, subject)
            chain.append(signature)
            subject = {"mediaType": OCI_MANIFEST, "digest": str(signature),
                       "size": len((await source.manifest(signature)).body)}  # fmt: skip
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(CHAIN + 40)
        try:
            done = await transfer(
                RegistryEnd(source), "l3", RegistryEnd(registry.repository(other)), "v1",
                referrers=True,
            )  # fmt: skip
        finally:
            sys.setrecursionlimit(limit)
        assert len(done.manifests) == 5  # four indexes and the image, once each
        copied = registry.repository(other)
        assert (await copied.manifest("v1")).digest == top
        for subject_digest, signature in zip([top, *chain], chain, strict=False):
            assert [d.digest for d in await copied.referrers(subject_digest)] == [signature]

    run(work)


# --- broken and hostile servers ---------------------------------------------------------------


def test_a_download_cut_mid_way_resumes_with_range(open_server: DockyardServer) -> None:
    name = fresh("resume")
    data = os.urandom(48 * 1024 * 1024)
    digest = Digest.of(data)
    with httpx.Client(base_url=open_server.url, timeout=60) as http:
        answer = http.post(f"/v2/{name}/blobs/uploads/", params={"digest": str(digest)},
                           content=data)  # fmt: skip
        assert answer.status_code == 201, answer.text

    with tcp_proxy(open_server.host) as proxy:

        async def work(client: RegistryClient) -> None:
            repository = client.registry(f"127.0.0.1:{proxy.port}").repository(name)
            received = bytearray()
            async for chunk in repository.blob(digest, len(data)):
                if not received:
                    proxy.cut()  # the connection in use is closed under the download
                    proxy.restore()
                received += chunk
            assert received == data

        run(work)
    assert f" GET /v2/{name}/blobs/{digest} 206 " in open_server.log.read_text()


def test_bytes_that_are_not_the_digests_are_refused(tmp_path: Path) -> None:
    real = b"the real blob"
    digest = Digest.of(real)
    body = b"other bytes!!"

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.readline() not in (b"\r\n", b""):
            pass
        head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n"
        head += "Content-Type: application/vnd.oci.image.manifest.v1+json\r\n\r\n"
        writer.write(head.encode() + body)
        await writer.drain()
        writer.close()

    async def main() -> None:
        server = await asyncio.start_server(answer, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server, RegistryClient() as client:
            repository = client.registry(f"127.0.0.1:{port}").repository("evil/app")
            with pytest.raises(DigestMismatch, match=f"expected {digest}") as error:
                await repository.blob_bytes(digest)
            assert "\n" not in str(error.value)
            target = tmp_path / "blob"
            with pytest.raises(DigestMismatch):
                await repository.blob_to_file(digest, target)
            assert not target.with_name("blob.partial").exists()
            assert not target.exists()  # nothing unverified left behind
            with pytest.raises(DigestMismatch):
                await repository.manifest(digest)

    asyncio.run(main())


async def all_tags(repository: Repository) -> list[str]:
    return [tag async for tag in repository.tags()]


def test_broken_answers_are_registry_errors() -> None:
    """What mirrors and the command line catch: a body cut short (of the content, of an error,
    of a 401), a Content-Encoding that is not, JSON that is not (or nests too deep), and URLs
    the registry gave (a token realm, a next page, a redirect, an upload's Location) that
    cannot be called."""
    subject = Digest.of(b"subject")
    cut = Answer(pieces=(b'{"schemaVersion"',), length=100)
    answers = {
        ("GET", "/v2/app/manifests/cut"): cut,
        ("GET", "/v2/app/manifests/cut-error"): Answer(404, pieces=cut.pieces, length=100),
        ("GET", "/v2/cut/tags/list"): Answer(401, pieces=cut.pieces, length=100),
        ("GET", "/v2/app/manifests/gzip"): Answer(
            headers={"Content-Encoding": "gzip"}, pieces=(b"not gzip",)
        ),
        ("GET", f"/v2/app/referrers/{subject}"): Answer(pieces=(b"not json",)),
        ("GET", "/v2/realm/tags/list"): Answer(
            401, headers={"WWW-Authenticate": 'Bearer realm="http://[::1"'}
        ),
        ("GET", "/v2/app/tags/list"): Answer(
            headers={"Link": '<http://[::1>; rel="next"'}, pieces=(b'{"tags": ["v1"]}',)
        ),
        ("GET", f"/v2/app/blobs/{subject}"): Answer(
            307, headers={"Location": "http://127.0.0.1:99999/blob"}
        ),
        ("POST", "/v2/app/blobs/uploads/"): Answer(202, headers={"Location": "http://[::1"}),
        ("GET", "/v2/app/manifests/deep"): Answer(404, pieces=(b"[" * 100_000,)),
    }

    async def main(address: str) -> None:
        async with RegistryClient(retry=RetryPolicy(attempts=1)) as client:
            registry = client.registry(address)
            app = registry.repository("app")
            for call, error, message in (
                (app.manifest("cut"), RegistryUnavailable, "peer closed connection"),
                (app.manifest("cut-error"), RegistryUnavailable, "peer closed connection"),
                (all_tags(registry.repository("cut")), RegistryUnavailable, "peer closed"),
                (app.manifest("gzip"), RegistryError, "the answer cannot be decoded"),
                (app.referrers(subject), InvalidContent, "is not JSON"),
                (all_tags(app), InvalidURL, "gave an invalid URL"),
                (app.blob_bytes(subject), InvalidURL, "invalid port"),
                (app.push_blob(b"pushed"), InvalidURL, "invalid Location"),
                (app.manifest("deep"), NotFound, "404"),  # JSON past the recursion limit
                # Last: the client keeps the registry's challenge for its next requests.
                (all_tags(registry.repository("realm")), InvalidURL, "invalid URL"),
            ):
                with pytest.raises(error, match=message):
                    await call

    with bad_upstream(answers) as address:
        asyncio.run(main(address))


def test_answers_past_their_bound_are_not_read_whole() -> None:
    """A page of tags, a token or an error from a registry (or its token server) that is
    too large, or a small gzip that inflates past the bound: a mirror or a replication reads
    other registries, and must not take gigabytes in memory for one answer. A page or token
    past 64 MiB is TooLarge; an error's body is read to 64 KiB, and the error is its status's."""
    inflating = {"Content-Encoding": "gzip"}
    bomb = (gzip.compress(b" " * (65 << 20), compresslevel=1),)
    answers = {
        ("GET", "/v2/app/tags/list"): Answer(headers=inflating, pieces=bomb),
        ("GET", "/v2/app/manifests/v1"): Answer(404, headers=inflating, pieces=bomb),
        ("GET", "/token"): Answer(headers=inflating, pieces=bomb),
    }

    async def main(address: str) -> None:
        async with RegistryClient(retry=RetryPolicy(attempts=1)) as client:
            registry = client.registry(address)
            app = registry.repository("app")
            with pytest.raises(TooLarge, match="larger than 67108864 bytes"):
                await all_tags(app)
            with pytest.raises(NotFound, match="404"):
                await app.manifest("v1")
            with pytest.raises(TooLarge, match="larger than 67108864 bytes"):
                await all_tags(registry.repository("private"))

    with bad_upstream(answers) as address:
        challenge = f'Bearer realm="http://{address}/token",service="bad"'
        answers["GET", "/v2/private/tags/list"] = Answer(401, {"WWW-Authenticate": challenge})
        asyncio.run(main(address))


def test_429_with_retry_after_is_waited_out(tmp_path: Path) -> None:
    env = {"DOCKYARD_RATELIMITS__PULL__PER_ADDRESS": "3/second"}
    with dockyard_server(tmp_path / "data", env=env) as server:
        name = fresh("limited")

        async def work(client: RegistryClient) -> None:
            repository = client.registry(server.host).repository(name)
            pushed = await repository.push_blob(b"limited blob")
            for _ in range(8):  # past the limit: each 429 waited out
                assert await repository.blob_exists(pushed.digest) == 12

        run(work)
        assert f" HEAD /v2/{name}/blobs/" in server.log.read_text()
        assert " 429 " in server.log.read_text()

        async def impatient(client: RegistryClient) -> None:
            repository = client.registry(server.host).repository(name)
            with pytest.raises(TooManyRequests, match="TOOMANYREQUESTS") as error:
                for _ in range(8):
                    with contextlib.suppress(ManifestUnknown):
                        await repository.manifest("latest")
            assert error.value.retry_after is not None

        run(impatient, retry=RetryPolicy(max_retry_after=0))


def test_https_with_the_registrys_ca(tmp_path: Path) -> None:
    ca = CertificateAuthority(tmp_path / "ca")
    served = ca.server("registry")
    with https_dockyard(tmp_path / "data", tls_settings(served), client_context(ca)) as server:
        name = fresh("tls")
        image = multi_platform(name)

        async def work(client: RegistryClient) -> None:
            repository = client.registry(server.host).repository(name)
            await push(repository, image, "v1")
            await pull(repository, "v1", image)

        run(work, hosts={server.host: HostOptions(ca_file=ca.path)})

        async def untrusting(client: RegistryClient) -> None:
            with pytest.raises(RegistryUnavailable, match="CERTIFICATE_VERIFY_FAILED"):
                await client.registry(server.host).ping()

        run(untrusting, hosts={server.host: HostOptions(insecure=False, ca_file=None)},
            retry=RetryPolicy(attempts=2))  # fmt: skip


# --- Dockyard in index mode: its own token service -------------------------------------------


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IndexServer]:
    with index_server(tmp_path_factory.mktemp("client-index") / "data") as server:
        for user in ("carol", "dave"):
            body = {"username": user, "email": f"{user}@example.com", "password": f"{user}-pw-123"}
            with server.api() as api:
                assert api.post("/api/users", json=body).status_code == 201
        yield server


CAROL = Credential(username="carol", password="carol-pw-123")


def test_index_mode_push_and_pull_with_tokens(index: IndexServer) -> None:
    host = index.server.host
    name = f"carol/{fresh('app').split('/')[1]}"
    image = multi_platform(name)

    async def work(client: RegistryClient) -> None:
        repository = client.registry(host).repository(name)
        await push(repository, image, "v1")
        await pull(repository, "v1", image)

    run(work, credentials=StaticCredentials({host: CAROL}))
    log = index.server.log.read_text()
    # One token per scope, reused: far fewer token requests than registry requests.
    assert log.count(" GET /token") <= 3, log.count(" GET /token")

    async def anonymous(client: RegistryClient) -> None:
        repository = client.registry(host).repository(name)
        with pytest.raises((Unauthorized, Denied)):
            await repository.push_blob(b"anonymous bytes")

    run(anonymous)

    async def other_user(client: RegistryClient) -> None:
        with pytest.raises((Unauthorized, Denied)) as error:
            await client.registry(host).repository(name).push_blob(b"dave's bytes")
        assert "\n" not in str(error.value)

    run(other_user, credentials=StaticCredentials({host: Credential("dave", "dave-pw-123")}))

    async def wrong_password(client: RegistryClient) -> None:
        with pytest.raises(Unauthorized):
            await client.registry(host).repository(name).manifest("v1")

    run(wrong_password, credentials=StaticCredentials({host: Credential("carol", "nope")}))


def test_login_gives_a_refresh_token_that_later_pushes_use(index: IndexServer) -> None:
    host = index.server.host
    name = f"carol/{fresh('refresh').split('/')[1]}"
    stored: list[Credential | None] = []

    async def login(client: RegistryClient) -> None:
        stored.append(await client.registry(host).login())

    run(login, credentials=StaticCredentials({host: CAROL}))
    (credential,) = stored
    assert credential is not None and credential.identity_token and credential.password is None

    async def work(client: RegistryClient) -> None:
        repository = client.registry(host).repository(name)
        assert (await repository.push_blob(b"pushed with a refresh token")).how is Pushed.UPLOADED

    run(work, credentials=StaticCredentials({host: credential}))
    assert " POST /token " in index.server.log.read_text()


def test_credentials_from_docker_config_and_a_credential_helper(
    index: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    host = index.server.host
    config = tmp_path / "docker" / "config.json"
    config.parent.mkdir()
    auth = base64.b64encode(b"carol:carol-pw-123").decode()
    config.write_text(json.dumps({"auths": {host: {"auth": auth}}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(config.parent))
    name = f"carol/{fresh('config').split('/')[1]}"

    async def work(client: RegistryClient) -> None:
        repository = client.registry(host).repository(name)
        assert (await repository.push_blob(b"from config.json")).how is Pushed.UPLOADED

    run(work, credentials=DockerConfig())

    # A helper named in credHelpers answers for the host; it is asked with the host on stdin.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    helper = bin_dir / "docker-credential-test"
    asked = tmp_path / "asked"
    helper.write_text(
        "#!/bin/sh\n"
        f"cat > {asked}\n"
        'echo \'{"ServerURL":"x","Username":"carol","Secret":"carol-pw-123"}\'\n'
    )
    helper.chmod(helper.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    config.write_text(json.dumps({"credHelpers": {host: "test"}, "auths": {}}))
    run(work_in(host, f"{name}-helper"), credentials=DockerConfig())
    assert asked.read_text() == host


def work_in(host: str, name: str) -> Callable[[RegistryClient], Awaitable[None]]:
    async def work(client: RegistryClient) -> None:
        repository = client.registry(host).repository(name)
        assert (await repository.push_blob(f"{name} bytes".encode())).how is Pushed.UPLOADED

    return work
