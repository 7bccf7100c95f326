"""`GET /v2/<name>/tags/list`: sorted, paginated with `n` and `last`, Link to the next page."""

from __future__ import annotations

import random
import re

import httpx
import pytest

from tests.support.api import assert_error
from tests.support.images import make_image, push_image, push_manifest

TAGS = ["1.0", "1.10", "1.2", "_x", "a", "b_c", "latest", "v1", "v10", "v2", "z-z"]
LINK = re.compile(r'^<(?P<url>[^>]+)>; rel="next"$')


@pytest.fixture
def tagged(client: httpx.Client, repo: str) -> str:
    """The repository with every tag in TAGS, pushed in random order."""
    image = make_image(repo)
    push_image(client, repo, image, tag="first")
    client.delete(f"/v2/{repo}/manifests/first")
    for tag in random.sample(TAGS, len(TAGS)):
        push_manifest(client, repo, tag, image.manifest, image.media_type)
    return repo


def next_link(response: httpx.Response) -> str | None:
    header = response.headers.get("link")
    if header is None:
        return None
    match = LINK.match(header)
    assert match, header
    return match["url"]


def test_tags_are_listed_in_lexical_order(client: httpx.Client, tagged: str) -> None:
    response = client.get(f"/v2/{tagged}/tags/list")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"name": tagged, "tags": sorted(TAGS)}
    assert "link" not in response.headers


def test_repository_without_tags_lists_none(client: httpx.Client, repo: str) -> None:
    image = make_image(repo)
    push_image(client, repo, image, tag=image.digest)
    assert client.get(f"/v2/{repo}/tags/list").json() == {"name": repo, "tags": []}


def test_first_page_holds_n_tags_and_links_to_the_next(client: httpx.Client, tagged: str) -> None:
    response = client.get(f"/v2/{tagged}/tags/list", params={"n": 3})
    assert response.status_code == 200
    assert response.json()["tags"] == sorted(TAGS)[:3]
    url = next_link(response)
    assert url is not None
    assert url.startswith(f"/v2/{tagged}/tags/list?")
    query = httpx.URL(url).params
    assert query["n"] == "3"
    assert query["last"] == sorted(TAGS)[2]


def test_following_links_walks_every_tag_once_and_the_last_page_has_no_link(
    client: httpx.Client, tagged: str
) -> None:
    seen: list[str] = []
    url: str | None = f"/v2/{tagged}/tags/list?n=4"
    pages = 0
    while url is not None:
        response = client.get(url)
        assert response.status_code == 200
        page = response.json()["tags"]
        assert 0 < len(page) <= 4
        seen += page
        pages += 1
        url = next_link(response)
    assert seen == sorted(TAGS)
    assert pages == 3  # 11 tags, 4 a page


def test_page_that_ends_exactly_at_the_last_tag_has_no_link(
    client: httpx.Client, tagged: str
) -> None:
    ordered = sorted(TAGS)
    response = client.get(f"/v2/{tagged}/tags/list", params={"n": 3, "last": ordered[-4]})
    assert response.json()["tags"] == ordered[-3:]
    assert "link" not in response.headers


def test_n_larger_than_the_list_returns_all_without_link(client: httpx.Client, tagged: str) -> None:
    response = client.get(f"/v2/{tagged}/tags/list", params={"n": 1000})
    assert response.json()["tags"] == sorted(TAGS)
    assert "link" not in response.headers


def test_huge_n_is_served_not_refused(client: httpx.Client, tagged: str) -> None:
    response = client.get(f"/v2/{tagged}/tags/list", params={"n": "9" * 30})
    assert response.status_code == 200
    assert response.json()["tags"] == sorted(TAGS)


@pytest.mark.parametrize("last", ["latest", "lateral", "0", "zzz"])
def test_last_alone_lists_the_tags_after_it(client: httpx.Client, tagged: str, last: str) -> None:
    response = client.get(f"/v2/{tagged}/tags/list", params={"last": last})
    assert response.json()["tags"] == [tag for tag in sorted(TAGS) if tag > last]
    assert "link" not in response.headers


def test_n_zero_lists_no_tags_and_no_link(client: httpx.Client, tagged: str) -> None:
    response = client.get(f"/v2/{tagged}/tags/list", params={"n": 0})
    assert response.status_code == 200
    assert response.json()["tags"] == []
    assert "link" not in response.headers


@pytest.mark.parametrize("n", ["abc", "-1", "1.5", "0x10", " 3"])
def test_bad_n_is_400(client: httpx.Client, tagged: str, n: str) -> None:
    response = client.get(f"/v2/{tagged}/tags/list", params={"n": n})
    assert_error(response, 400, "PAGINATION_NUMBER_INVALID")


def test_tags_of_unknown_repository_is_404_name_unknown(client: httpx.Client, repo: str) -> None:
    error = assert_error(client.get(f"/v2/{repo}/tags/list"), 404, "NAME_UNKNOWN")
    assert error["detail"] == {"name": repo}


def test_deleted_tag_leaves_the_list(client: httpx.Client, tagged: str) -> None:
    assert client.delete(f"/v2/{tagged}/manifests/latest").status_code == 202
    tags = client.get(f"/v2/{tagged}/tags/list").json()["tags"]
    assert tags == sorted(set(TAGS) - {"latest"})
