"""Each process keeps the encoded tag list of a repository (dockyard.registry.tag_lists) while
its version stays: every tag added, moved away or deleted shows in the next list, whichever
process answers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dockyard.registry.tag_lists import TagLists
from tests.support.images import make_image, push_blobs, push_manifest
from tests.support.servers import DockyardServer, dockyard_server

KEPT = TagLists.SMALLEST + 20  # enough tags for the list to be kept
ASKS = 12  # GETs on new connections: both workers answer some


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[DockyardServer]:
    with dockyard_server(tmp_path / "data", env={"DOCKYARD_HTTP__WORKERS": "2"}) as server:
        yield server


def _tags(url: str, repo: str) -> list[str]:
    with httpx.Client(base_url=url, timeout=30) as fresh:  # a new connection each time
        response = fresh.get(f"/v2/{repo}/tags/list")
    assert response.status_code == 200, response.text
    names: list[str] = response.json()["tags"]
    return names


def _lists_seen(url: str, repo: str) -> list[list[str]]:
    return [_tags(url, repo) for _ in range(ASKS)]


def test_every_change_shows_in_the_next_list(client: httpx.Client, repo: str) -> None:
    _changes_show(client, str(client.base_url), repo)


def test_every_process_sees_every_change(two_workers: DockyardServer, repo: str) -> None:
    with httpx.Client(base_url=two_workers.url, timeout=30) as client:
        _changes_show(client, two_workers.url, repo)


def _changes_show(client: httpx.Client, url: str, repo: str) -> None:
    image, other = make_image(repo), make_image(f"{repo}-other")
    push_blobs(client, repo, image)
    push_blobs(client, repo, other)
    names = sorted(f"t{number:04d}" for number in range(KEPT))
    for name in names:
        push_manifest(client, repo, name, image.manifest, image.media_type)
    assert _lists_seen(url, repo) == [names] * ASKS  # now kept by the processes

    push_manifest(client, repo, "u-added", other.manifest, other.media_type)
    names = [*names, "u-added"]
    assert _lists_seen(url, repo) == [names] * ASKS

    assert client.delete(f"/v2/{repo}/manifests/t0000").status_code == 202
    names = names[1:]
    assert _lists_seen(url, repo) == [names] * ASKS

    # Deleting a manifest takes its tags along.
    assert client.delete(f"/v2/{repo}/manifests/{other.digest}").status_code == 202
    names = names[:-1]
    assert _lists_seen(url, repo) == [names] * ASKS

    # A tag moved to another manifest: the same names.
    push_manifest(client, repo, "t0001", other.manifest, other.media_type)
    assert _lists_seen(url, repo) == [names] * ASKS
