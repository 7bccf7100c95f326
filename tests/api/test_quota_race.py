"""Pushes racing to a namespace's last bytes or last repository, on two workers: however the
requests interleave, one process's or the other's, the quota holds (uploads, mounts and
manifests are checked in the transaction that records them, with the namespace held)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from functools import partial

import httpx
import pytest

from tests.support.images import make_image, push_blob, push_blobs, put_manifest, sha256
from tests.support.index import ADMIN_PASSWORD, IndexServer, index_server
from tests.support.postgres import backend_env

ADMIN = ("admin", ADMIN_PASSWORD)
BLOB_BYTES = 40_000
FITTING = 3  # blobs the byte quota has room for
RACERS = 12


@pytest.fixture
def hub(
    database_backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[IndexServer]:
    with ExitStack() as stack:
        env = {
            **stack.enter_context(backend_env(database_backend, request)),
            "DOCKYARD_HTTP__WORKERS": "2",
        }
        data = tmp_path_factory.mktemp(f"quota-race-{database_backend}") / "data"
        yield stack.enter_context(index_server(data, env))


def _race(requests: list[Callable[[], httpx.Response]]) -> list[httpx.Response]:
    """Send the requests at once, each from its own thread."""
    start = threading.Barrier(len(requests))
    answers: list[httpx.Response | None] = [None] * len(requests)

    def send(index: int) -> None:
        start.wait()
        answers[index] = requests[index]()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(answer is not None for answer in answers)
    return [answer for answer in answers if answer is not None]


def _outcome(answers: list[httpx.Response], accepted: int) -> int:
    """How many were accepted; every other one refused with DENIED."""
    for answer in answers:
        if answer.status_code != accepted:
            assert answer.status_code == 403, answer.text
            assert answer.json()["errors"][0]["code"] == "DENIED"
    return sum(answer.status_code == accepted for answer in answers)


def test_uploads_and_mounts_racing_for_the_last_bytes_never_exceed_the_quota(
    hub: IndexServer,
) -> None:
    blobs = [os.urandom(BLOB_BYTES) for _ in range(RACERS)]
    mounted = blobs[RACERS // 2 :]  # half arrive by mount, from another namespace
    with hub.registry(ADMIN, "repository:source/blobs:pull,push") as source:
        for blob in mounted:
            push_blob(source, "source/blobs", blob)
    with hub.api(ADMIN) as api:
        limit = {"max_bytes": FITTING * BLOB_BYTES + 1_000}
        api.put("/api/namespaces/race/quota", json=limit).raise_for_status()
    scopes = ("repository:race/app:pull,push", "repository:source/blobs:pull")
    clients = [hub.registry(ADMIN, *scopes) for _ in blobs]

    def upload(client: httpx.Client, blob: bytes) -> Callable[[], httpx.Response]:
        digest = sha256(blob)
        return lambda: client.post(
            "/v2/race/app/blobs/uploads/", params={"digest": digest}, content=blob
        )

    def mount(client: httpx.Client, blob: bytes) -> Callable[[], httpx.Response]:
        params = {"mount": sha256(blob), "from": "source/blobs"}
        return lambda: client.post("/v2/race/app/blobs/uploads/", params=params)

    requests = [
        (mount if blob in mounted else upload)(client, blob)
        for client, blob in zip(clients, blobs, strict=True)
    ]
    answers = _race(requests)
    for client in clients:
        client.close()
    # A mount refused for its quota is DENIED too (not the spec's fallback to an upload).
    assert 1 <= _outcome(answers, 201) <= FITTING
    with hub.api(ADMIN) as api:
        usage = api.get("/api/namespaces/race/usage").json()
    assert usage["bytes"] <= limit["max_bytes"], usage
    assert usage["bytes"] == _outcome(answers, 201) * BLOB_BYTES


def test_manifests_racing_for_the_last_repository_never_exceed_the_quota(
    hub: IndexServer,
) -> None:
    with hub.api(ADMIN) as api:
        api.put("/api/namespaces/few/quota", json={"max_repositories": 2}).raise_for_status()
    image = make_image("racing", layers=1)
    names = [f"few/r{i}" for i in range(RACERS // 2)]
    clients = [hub.registry(ADMIN, f"repository:{name}:pull,push") for name in names]
    for client, name in zip(clients, names, strict=True):
        push_blobs(client, name, image)  # blobs alone make no repository count
    answers = _race(
        [
            partial(put_manifest, client, name, "v1", image)
            for client, name in zip(clients, names, strict=True)
        ]
    )
    for client in clients:
        client.close()
    assert _outcome(answers, 201) == 2
    with hub.api(ADMIN) as api:
        assert api.get("/api/namespaces/few/usage").json()["repository_count"] == 2
