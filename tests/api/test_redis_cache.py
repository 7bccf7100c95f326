"""The Redis metadata cache, with two registry processes on one PostgreSQL database and one
real redis-server: every change made through one process is seen at once through the other,
and with Redis dead or frozen the registry still answers, from the database."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import redis

from tests.support.images import Image, make_image, push_blobs, push_manifest, sha256
from tests.support.nodes import Cluster, registry_cluster
from tests.support.postgres import PostgresServer
from tests.support.redis import RedisServer, redis_server


@contextmanager
def cached_cluster(
    base: Path, postgres: PostgresServer, redis_url: str, prefix: str = "dockyard"
) -> Iterator[Cluster]:
    """Two nodes caching in the Redis at `redis_url`, under keys that start with `prefix`."""
    env = {"DOCKYARD_CACHE__REDIS_URL": redis_url, "DOCKYARD_CACHE__KEY_PREFIX": prefix}
    with registry_cluster(base, postgres, env=env) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def cluster(
    postgres: PostgresServer, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    # Under keys of its own: DOCKYARD_TEST_REDIS_URL may name a Redis that others use too.
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    base = tmp_path_factory.mktemp("cached")
    with cached_cluster(base, postgres, redis_url, prefix) as running:
        yield running


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A redis-server of this test alone, which it may kill, freeze and restart."""
    with redis_server() as server:
        yield server


def manifest_digest(node_url: str, repo: str, reference: str) -> str | None:
    response = httpx.get(f"{node_url}/v2/{repo}/manifests/{reference}", timeout=30)
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    return response.headers["docker-content-digest"]


def push(cluster: Cluster, repo: str, image: Image, reference: str) -> None:
    with httpx.Client(base_url=cluster.nodes[0].url, timeout=30) as client:
        push_blobs(client, repo, image)
        push_manifest(client, repo, reference, image.manifest, image.media_type)


def move_tag_behind_the_registry(cluster: Cluster, repo: str, tag: str, digest: str) -> None:
    """Change the database without telling the registry: only a cached answer ignores it."""
    cluster.execute(
        "UPDATE tags SET digest = :digest WHERE name = :tag"
        " AND repository_id = (SELECT id FROM repositories WHERE name = :repo)",
        digest=digest,
        tag=tag,
        repo=repo,
    )


def answers_from_cache(cluster: Cluster, node: int, repo: str, tag: str, decoy: Image) -> bool:
    """Whether `node` answers `tag` from the cache: it must ignore a change made behind its back
    (undone afterwards). `decoy` must be stored in `repo` by digest."""
    before = manifest_digest(cluster.nodes[node].url, repo, tag)
    assert before is not None and before != decoy.digest
    move_tag_behind_the_registry(cluster, repo, tag, decoy.digest)
    try:
        return manifest_digest(cluster.nodes[node].url, repo, tag) == before
    finally:
        move_tag_behind_the_registry(cluster, repo, tag, before)


def eventually(condition: object, seconds: float = 10) -> bool:
    assert callable(condition)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_a_tag_moved_through_one_process_is_seen_moved_through_the_other_at_once(
    cluster: Cluster, repo: str
) -> None:
    first, second, decoy = (make_image(f"{repo}-{i}", layers=1) for i in range(3))
    push(cluster, repo, decoy, decoy.digest)
    push(cluster, repo, first, "t")
    assert manifest_digest(cluster.nodes[1].url, repo, "t") == first.digest
    assert answers_from_cache(cluster, 1, repo, "t", decoy)
    for _ in range(5):
        for image in (second, first):
            push(cluster, repo, image, "t")
            assert manifest_digest(cluster.nodes[1].url, repo, "t") == image.digest
            assert manifest_digest(cluster.nodes[0].url, repo, "t") == image.digest


def test_a_manifest_deleted_through_one_process_is_gone_from_the_other_at_once(
    cluster: Cluster, repo: str
) -> None:
    image = make_image(repo, layers=1)
    push(cluster, repo, image, "t")
    other = cluster.nodes[1].url
    assert manifest_digest(other, repo, "t") == manifest_digest(other, repo, image.digest)
    response = httpx.delete(f"{cluster.nodes[0].url}/v2/{repo}/manifests/{image.digest}")
    assert response.status_code == 202
    assert manifest_digest(other, repo, "t") is None
    assert manifest_digest(other, repo, image.digest) is None


def test_a_tag_deleted_through_one_process_is_gone_from_the_other_at_once(
    cluster: Cluster, repo: str
) -> None:
    image = make_image(repo, layers=1)
    push(cluster, repo, image, "t")
    assert manifest_digest(cluster.nodes[1].url, repo, "t") == image.digest
    assert httpx.delete(f"{cluster.nodes[0].url}/v2/{repo}/manifests/t").status_code == 202
    assert manifest_digest(cluster.nodes[1].url, repo, "t") is None
    assert manifest_digest(cluster.nodes[1].url, repo, image.digest) == image.digest


def test_a_blob_deleted_through_one_process_is_gone_from_the_other_at_once(
    cluster: Cluster, repo: str
) -> None:
    image = make_image(repo, layers=1)
    push(cluster, repo, image, "t")
    blob = f"/v2/{repo}/blobs/{sha256(image.layers[0])}"
    for _ in range(2):  # the second HEAD answers from the cache
        assert httpx.head(f"{cluster.nodes[1].url}{blob}").status_code == 200
    assert httpx.delete(f"{cluster.nodes[0].url}{blob}").status_code == 202
    assert httpx.head(f"{cluster.nodes[1].url}{blob}").status_code == 404
    assert httpx.get(f"{cluster.nodes[1].url}{blob}").status_code == 404


def test_with_redis_killed_requests_still_succeed_and_caching_resumes_after_a_restart(
    postgres: PostgresServer, own_redis: RedisServer, tmp_path: Path, repo: str
) -> None:
    first, second, decoy = (make_image(f"{repo}-{i}", layers=1) for i in range(3))
    with cached_cluster(tmp_path, postgres, own_redis.url) as cluster:
        push(cluster, repo, decoy, decoy.digest)
        push(cluster, repo, first, "t")
        assert manifest_digest(cluster.nodes[1].url, repo, "t") == first.digest
        assert answers_from_cache(cluster, 1, repo, "t", decoy)

        own_redis.stop()
        push(cluster, repo, second, "t")
        for node in cluster.nodes:
            assert manifest_digest(node.url, repo, "t") == second.digest
            assert not answers_from_cache(cluster, 1, repo, "t", decoy)

        own_redis.start()  # empty: no persistence

        def caching_resumed() -> bool:
            # A probe that missed the cache may have cached the decoy it read behind the
            # registry's back: pushing through the registry invalidates that before each try.
            push(cluster, repo, second, "t")
            manifest_digest(cluster.nodes[1].url, repo, "t")
            return answers_from_cache(cluster, 1, repo, "t", decoy)

        assert eventually(caching_resumed)
        push(cluster, repo, first, "t")
        assert manifest_digest(cluster.nodes[1].url, repo, "t") == first.digest


def test_a_change_made_while_redis_was_frozen_is_seen_everywhere_once_it_thaws(
    postgres: PostgresServer, own_redis: RedisServer, tmp_path: Path, repo: str
) -> None:
    first, second = (make_image(f"{repo}-{i}", layers=1) for i in range(2))
    with cached_cluster(tmp_path, postgres, own_redis.url) as cluster:
        push(cluster, repo, first, "t")
        assert manifest_digest(cluster.nodes[1].url, repo, "t") == first.digest  # cached
        epoch_key = "dockyard:epoch"
        with redis.Redis.from_url(own_redis.url) as client:
            epoch = client.get(epoch_key)
        assert epoch is not None

        own_redis.pause()  # every call now times out; its data (the cached entry) stays
        try:
            started = time.monotonic()
            push(cluster, repo, second, "t")  # the invalidation is lost
            assert manifest_digest(cluster.nodes[1].url, repo, "t") == second.digest
            assert time.monotonic() - started < 10
        finally:
            own_redis.resume()

        # The process that lost an invalidation replaces the epoch as soon as Redis answers,
        # which hides every entry cached before, the stale one included.
        with redis.Redis.from_url(own_redis.url) as client:
            assert eventually(lambda: client.get(epoch_key) != epoch)
        assert manifest_digest(cluster.nodes[1].url, repo, "t") == second.digest
