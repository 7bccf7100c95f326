"""dockyard.client against the reference registry (Distribution 2.8.2): with htpasswd (Basic)
and with token auth, Dockyard in `auth.mode: token` as its token server. Distribution has no
referrers API: the client falls back to the spec's tag schema."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from dockyard.client import (
    Credential,
    Pushed,
    RegistryClient,
    StaticCredentials,
    Unauthorized,
    referrers_tag,
)
from dockyard.oci.digest import Digest
from tests.api.test_client import artifact
from tests.support.auth import htpasswd
from tests.support.client_images import multi_platform, pull, push
from tests.support.distribution import (
    Distribution,
    distribution_server,
    distribution_trusting_dockyard,
)
from tests.support.images import OCI_INDEX

SERVICE = "client-registry"
ISSUER = "client-issuer"
ALICE = Credential("alice", "wonderland")


@pytest.fixture(scope="module")
def users(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("client-users") / "htpasswd"
    htpasswd(path, "alice", "wonderland")
    return path


@pytest.fixture(scope="module", params=["htpasswd", "token"])
def distribution(
    request: pytest.FixtureRequest, users: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Distribution]:
    base = tmp_path_factory.mktemp(f"client-distribution-{request.param}")
    if request.param == "htpasswd":
        auth = f"auth:\n  htpasswd: {{realm: basic-realm, path: {users}}}\n"
        with distribution_server(base / "distribution", auth) as server:
            yield server
        return
    with distribution_trusting_dockyard(base, users, SERVICE, ISSUER) as (_, server):
        yield server


def run(
    distribution: Distribution,
    work: Callable[[RegistryClient], Awaitable[None]],
    credential: Credential | None = ALICE,
) -> None:
    credentials = StaticCredentials({distribution.host: credential} if credential else {})

    async def main() -> None:
        async with RegistryClient(credentials) as client:
            await work(client)

    asyncio.run(main())


def fresh(stem: str) -> str:
    return f"alice/{stem}-{uuid.uuid4().hex[:8]}"


def test_multi_platform_round_trip_skip_and_mount(distribution: Distribution) -> None:
    name, other = fresh("app"), fresh("other")
    image = multi_platform(name)

    async def work(client: RegistryClient) -> None:
        registry = client.registry(distribution.host)
        repository = registry.repository(name)
        assert set(await push(repository, image, "v1")) == {Pushed.UPLOADED}
        await pull(repository, "v1", image)
        assert set(await push(repository, image, "v1")) == {Pushed.EXISTS}
        target = registry.repository(other)
        for blob in image.blobs:
            assert (await target.push_blob(blob, mount_from=[name])).how is Pushed.MOUNTED

    run(distribution, work)


def test_chunked_upload_tag_pages_and_delete(distribution: Distribution) -> None:
    name = fresh("chunks")
    data = os.urandom(2 * 1024 * 1024 + 5)

    async def work(client: RegistryClient) -> None:
        repository = client.registry(distribution.host).repository(name)
        pushed = await repository.push_blob(data, chunk_size=512 * 1024)
        assert await repository.blob_bytes(pushed.digest, len(data)) == data
        image = multi_platform(name)
        await push(repository, image, "t0")
        for number in range(1, 5):
            await repository.put_manifest(image.index, OCI_INDEX, f"t{number}")
        # Distribution 2.8's pages are not in lexical order, but every tag comes exactly once.
        tags = [tag async for tag in repository.tags(page_size=2)]
        assert sorted(tags) == [f"t{i}" for i in range(5)]
        await repository.delete_manifest(Digest.of(image.index))
        assert await repository.head_manifest("t1") is None

    run(distribution, work)


def test_referrers_fall_back_to_the_tag_schema(distribution: Distribution) -> None:
    name = fresh("referrers")
    image = multi_platform(name)

    async def work(client: RegistryClient) -> None:
        repository = client.registry(distribution.host).repository(name)
        await push(repository, image, "v1")
        subject = await repository.manifest("v1")
        signature = await artifact(repository, subject.descriptor.to_json())
        fallback = await repository.manifest(referrers_tag(subject.digest))
        assert [d.digest for d in fallback.index().manifests] == [signature]
        assert [d.digest for d in await repository.referrers(subject.digest)] == [signature]

    run(distribution, work)


def test_wrong_password_and_anonymous_are_refused(distribution: Distribution) -> None:
    async def work(client: RegistryClient) -> None:
        with pytest.raises(Unauthorized) as error:
            await client.registry(distribution.host).repository("alice/x").push_blob(b"x")
        assert "\n" not in str(error.value)

    run(distribution, work, Credential("alice", "looking-glass"))
    run(distribution, work, None)


def test_login_checks_the_credentials(distribution: Distribution) -> None:
    async def work(client: RegistryClient) -> None:
        credential = await client.registry(distribution.host).login()
        assert credential is not None

    run(distribution, work)
