"""`GET /v2/_catalog`: every repository, sorted, paginated with `n` and `last` like tags."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator

import httpx
import pytest

from tests.support.api import assert_error
from tests.support.images import make_image, push_blob, push_image
from tests.support.servers import dockyard_server

NAMES = ["alpha", "alpha/one", "alpha/two", "beta", "gamma/a/b/c", "my.org/app", "z_z"]
LINK = re.compile(r'^<(?P<url>[^>]+)>; rel="next"$')


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """A server of its own, holding exactly the repositories in NAMES."""
    with (
        dockyard_server(tmp_path_factory.mktemp("catalog") / "data") as server,
        httpx.Client(base_url=server.url, timeout=60) as client,
    ):
        for name in random.sample(NAMES, len(NAMES)):
            push_image(client, name, make_image(name, layers=1))
        yield client


def next_link(response: httpx.Response) -> str | None:
    header = response.headers.get("link")
    if header is None:
        return None
    match = LINK.match(header)
    assert match, header
    return match["url"]


def test_catalog_lists_every_repository_sorted(catalog: httpx.Client) -> None:
    response = catalog.get("/v2/_catalog")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"repositories": sorted(NAMES)}
    assert "link" not in response.headers


def test_catalog_first_page_links_to_the_next(catalog: httpx.Client) -> None:
    response = catalog.get("/v2/_catalog", params={"n": 2})
    assert response.json()["repositories"] == sorted(NAMES)[:2]
    url = next_link(response)
    assert url is not None
    assert url.startswith("/v2/_catalog?")
    query = httpx.URL(url).params
    assert query["n"] == "2"
    assert query["last"] == sorted(NAMES)[1]


def test_following_catalog_links_walks_every_repository_once(catalog: httpx.Client) -> None:
    seen: list[str] = []
    url: str | None = "/v2/_catalog?n=3"
    while url is not None:
        response = catalog.get(url)
        assert response.status_code == 200
        seen += response.json()["repositories"]
        url = next_link(response)
    assert seen == sorted(NAMES)


def test_catalog_page_ending_at_the_last_repository_has_no_link(catalog: httpx.Client) -> None:
    ordered = sorted(NAMES)
    response = catalog.get("/v2/_catalog", params={"n": 2, "last": ordered[-3]})
    assert response.json()["repositories"] == ordered[-2:]
    assert "link" not in response.headers


def test_catalog_last_alone_lists_the_repositories_after_it(catalog: httpx.Client) -> None:
    response = catalog.get("/v2/_catalog", params={"last": "alpha/one"})
    assert response.json()["repositories"] == [n for n in sorted(NAMES) if n > "alpha/one"]


def test_catalog_n_zero_lists_nothing_and_no_link(catalog: httpx.Client) -> None:
    response = catalog.get("/v2/_catalog", params={"n": 0})
    assert response.status_code == 200
    assert response.json()["repositories"] == []
    assert "link" not in response.headers


@pytest.mark.parametrize("n", ["abc", "-1", "2.0", "1e3"])
def test_catalog_with_bad_n_is_400(catalog: httpx.Client, n: str) -> None:
    assert_error(catalog.get("/v2/_catalog", params={"n": n}), 400, "PAGINATION_NUMBER_INVALID")


def test_pushed_repository_appears_in_the_shared_catalog(client: httpx.Client, repo: str) -> None:
    push_blob(client, repo, b"anything")
    response = client.get("/v2/_catalog", params={"last": repo[:-1], "n": 10_000})
    assert repo in response.json()["repositories"]


def test_fresh_registry_has_an_empty_catalog(tmp_path_factory: pytest.TempPathFactory) -> None:
    with dockyard_server(tmp_path_factory.mktemp("empty") / "data") as server:
        response = httpx.get(f"{server.url}/v2/_catalog")
    assert response.status_code == 200
    assert response.json() == {"repositories": []}
