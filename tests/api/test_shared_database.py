"""Two registry processes on one PostgreSQL database: races between them end in a state some
order of the requests explains, never in a 5xx or in rows that point at nothing."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.api import assert_error
from tests.support.images import Image, make_image, push_blobs, put_manifest, sha256
from tests.support.nodes import Cluster, registry_cluster
from tests.support.parallel import together
from tests.support.postgres import PostgresServer

ROUNDS = 12


@pytest.fixture(scope="module")
def cluster(
    postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    with registry_cluster(tmp_path_factory.mktemp("shared"), postgres) as running:
        yield running


@pytest.fixture
def first(cluster: Cluster) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=cluster.nodes[0].url, timeout=60) as client:
        yield client


def test_two_processes_moving_one_tag_at_once_end_on_a_pushed_digest(
    cluster: Cluster, first: httpx.Client, repo: str
) -> None:
    images = [make_image(f"{repo}-{i}", layers=1) for i in range(8)]
    push_blobs(first, repo, *images)
    digests = {image.digest for image in images}

    def tag(client: httpx.Client, i: int) -> int:
        return put_manifest(client, repo, "contested", images[i]).status_code

    for _ in range(ROUNDS):
        assert together(8, tag, *cluster.nodes) == [201] * 8
        for node in cluster.nodes:
            winner = httpx.get(f"{node.url}/v2/{repo}/manifests/contested")
            assert winner.headers["docker-content-digest"] in digests
    tagged = "SELECT count(*) FROM tags t JOIN repositories r ON r.id = t.repository_id"
    assert cluster.count(f"{tagged} WHERE r.name = :name", name=repo) == 1
    assert cluster.count("SELECT count(*) FROM repositories WHERE name = :name", name=repo) == 1
    assert cluster.tags_on_nothing() == 0


def test_two_processes_creating_one_repository_at_once_both_succeed(
    cluster: Cluster, repo: str
) -> None:
    for round_ in range(ROUNDS):
        name = f"{repo}/r{round_}"

        def start(client: httpx.Client, _: int, name: str = name) -> int:
            return client.post(f"/v2/{name}/blobs/uploads/").status_code

        assert together(8, start, *cluster.nodes) == [202] * 8
        assert cluster.count("SELECT count(*) FROM repositories WHERE name = :n", n=name) == 1


def test_tag_put_racing_a_delete_of_its_manifest_never_leaves_a_tag_on_nothing(
    cluster: Cluster, first: httpx.Client, repo: str
) -> None:
    image = make_image(repo, layers=1)
    push_blobs(first, repo, image)

    def put_or_delete(client: httpx.Client, i: int) -> int:
        if i % 2:
            return client.delete(f"/v2/{repo}/manifests/{image.digest}").status_code
        return put_manifest(client, repo, "t", image).status_code

    for _ in range(ROUNDS):
        assert put_manifest(first, repo, image.digest, image).status_code == 201
        assert together(2, put_or_delete, *cluster.nodes) == [201, 202]
        by_tag = first.get(f"/v2/{repo}/manifests/t").status_code
        by_digest = first.get(f"/v2/{repo}/manifests/{image.digest}").status_code
        # Put then delete: both gone. Delete then put: both there. Nothing in between.
        assert (by_tag, by_digest) in {(404, 404), (200, 200)}
        assert cluster.tags_on_nothing() == 0
        first.delete(f"/v2/{repo}/manifests/{image.digest}")


def test_manifest_put_racing_a_delete_of_its_blob_is_never_a_5xx(
    cluster: Cluster, first: httpx.Client, repo: str
) -> None:
    for round_ in range(ROUNDS):
        image = make_image(f"{repo}-{round_}", layers=1)
        push_blobs(first, repo, image)

        def put_or_delete(
            client: httpx.Client, i: int, image: Image = image, tag: str = f"v{round_}"
        ) -> httpx.Response:
            if i % 2:
                return client.delete(f"/v2/{repo}/blobs/{sha256(image.layers[0])}")
            return put_manifest(client, repo, tag, image)

        put, deleted = together(2, put_or_delete, *cluster.nodes)
        assert deleted.status_code == 202, deleted.text
        if put.status_code != 201:  # the delete came first: the put must say what is missing
            assert_error(put, 400, "MANIFEST_BLOB_UNKNOWN")
        fetched = first.get(f"/v2/{repo}/manifests/v{round_}")
        assert fetched.status_code == (200 if put.status_code == 201 else 404)
    assert cluster.tags_on_nothing() == 0
