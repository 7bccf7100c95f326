"""Listings asked for without `n` answer a bounded first page with a `Link` to the next, as
Distribution's catalogue does, instead of everything: tags (registry.tag_page_size), the
catalogue, referrers."""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.api.test_referrers import SBOM, push_referrer
from tests.support.images import make_image, push_image, push_manifest
from tests.support.servers import dockyard_server

DEFAULT_PAGE = 1_000  # the catalogue's: registry/handlers/common.py


def in_parallel(task: Callable[[str], None], items: list[str]) -> None:
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(task, items))


def next_link(response: httpx.Response) -> str | None:
    link = response.headers.get("link")
    if link is None:
        return None
    found = re.fullmatch(r'<([^>]+)>; rel="next"', link)
    assert found is not None, link
    return found.group(1)


@pytest.mark.parametrize("page_size", [None, 40])
def test_a_tag_listing_without_n_is_one_bounded_page_and_a_link(
    tmp_path: Path, page_size: int | None
) -> None:
    """Without `n`, registry.tag_page_size tags (10,000 by default: every tag of the test's
    repository, as Distribution 2.8 answers), then a Link to the rest."""
    env = {} if page_size is None else {"DOCKYARD_REGISTRY__TAG_PAGE_SIZE": str(page_size)}
    with (
        dockyard_server(tmp_path / "data", env=env) as server,
        httpx.Client(base_url=server.url, timeout=60) as client,
    ):
        image = make_image("bounded-tags", layers=1)
        push_image(client, "bounded/tags", image, "t0000")
        tags = [f"t{i:04d}" for i in range(1, 41)]

        def tag(name: str) -> None:
            push_manifest(client, "bounded/tags", name, image.manifest, image.media_type)

        in_parallel(tag, tags)
        first = client.get("/v2/bounded/tags/tags/list")
        assert first.status_code == 200
        if page_size is None:
            assert first.json()["tags"] == ["t0000", *tags]
            assert next_link(first) is None
            return
        assert first.json()["tags"] == ["t0000", *tags[: page_size - 1]]
        following = next_link(first)
        assert following is not None
        second = client.get(following)
        assert second.json()["tags"] == [tags[-1]]
        assert next_link(second) is None


def test_the_catalogue_without_n_is_one_bounded_page_and_a_link(client: httpx.Client) -> None:
    names = [f"bounded/catalogue-{i:04d}" for i in range(DEFAULT_PAGE + 1)]

    def create(name: str) -> None:
        # Starting an upload is enough for the registry to know the repository.
        assert client.post(f"/v2/{name}/blobs/uploads/").status_code == 202

    in_parallel(create, names)
    seen: list[str] = []
    url: str | None = "/v2/_catalog"
    pages = 0
    while url is not None:
        answer = client.get(url)
        assert answer.status_code == 200
        page = answer.json()["repositories"]
        assert len(page) <= DEFAULT_PAGE
        seen += page
        url = next_link(answer)
        pages += 1
    assert pages >= 2
    assert seen == sorted(seen) and set(names) <= set(seen)


def test_referrers_come_in_pages_linked_to_the_next(client: httpx.Client, repo: str) -> None:
    subject = make_image(repo, layers=1)
    push_image(client, repo, subject)
    pushed = [
        push_referrer(client, repo, subject.manifest, artifact_type=SBOM, payload=f"p{i}".encode())[
            "digest"
        ]
        for i in range(5)
    ]
    url: str | None = f"/v2/{repo}/referrers/{subject.digest}?n=2"
    found: list[str] = []
    while url is not None:
        answer = client.get(url)
        assert answer.status_code == 200
        digests = [m["digest"] for m in answer.json()["manifests"]]
        assert len(digests) <= 2
        found += digests
        url = next_link(answer)
    assert sorted(found) == sorted(pushed) and len(found) == 5
    everything = client.get(f"/v2/{repo}/referrers/{subject.digest}")
    assert next_link(everything) is None
    assert len(everything.json()["manifests"]) == 5
