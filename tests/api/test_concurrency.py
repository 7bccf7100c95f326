"""Many clients at once: the same blob, the same tag, one session, many uploads in parallel."""

from __future__ import annotations

import httpx

from tests.support.api import assert_error, patch_chunk
from tests.support.images import make_image, push_blob, push_image, push_manifest, sha256
from tests.support.parallel import together
from tests.support.servers import DockyardServer

BLOB = bytes(range(256)) * 200  # 51,200 bytes: several chunks


def chunked_push(
    client: httpx.Client, repo: str, data: bytes, chunk: int = 10_000
) -> httpx.Response:
    response = client.post(f"/v2/{repo}/blobs/uploads/")
    assert response.status_code == 202, response.text
    location = response.headers["location"]
    for offset in range(0, len(data), chunk):
        response = patch_chunk(client, location, data[offset : offset + chunk], offset)
        assert response.status_code == 202, response.text
        location = response.headers["location"]
    return client.put(location, params={"digest": sha256(data)})


def test_same_blob_pushed_by_many_clients_at_once_is_stored_once_and_reads_back(
    server: DockyardServer, client: httpx.Client, repo: str
) -> None:
    results = together(8, lambda c, _: chunked_push(c, repo, BLOB), server)
    assert [r.status_code for r in results] == [201] * 8, [r.text for r in results]
    response = client.get(f"/v2/{repo}/blobs/{sha256(BLOB)}")
    assert response.content == BLOB
    assert response.headers["content-length"] == str(len(BLOB))


def test_same_blob_pushed_to_many_repositories_at_once_is_readable_in_each(
    server: DockyardServer, client: httpx.Client, repo: str
) -> None:
    digest = sha256(BLOB)

    def push(c: httpx.Client, i: int) -> int:
        response = c.post(f"/v2/{repo}/{i}/blobs/uploads/", params={"digest": digest}, content=BLOB)
        return response.status_code

    assert together(8, push, server) == [201] * 8
    for i in range(8):
        assert client.get(f"/v2/{repo}/{i}/blobs/{digest}").content == BLOB


def test_same_tag_pushed_by_many_clients_at_once_ends_on_one_of_them(
    server: DockyardServer, client: httpx.Client, repo: str
) -> None:
    images = [make_image(f"{repo}-{i}", layers=1) for i in range(8)]
    for image in images:
        for blob in (image.config, *image.layers):
            push_blob(client, repo, blob)

    def tag(c: httpx.Client, i: int) -> int:
        image = images[i]
        response = c.put(
            f"/v2/{repo}/manifests/contested",
            content=image.manifest,
            headers={"Content-Type": image.media_type},
        )
        return response.status_code

    assert together(8, tag, server) == [201] * 8
    winner = client.get(f"/v2/{repo}/manifests/contested")
    assert winner.status_code == 200
    assert winner.content in {image.manifest for image in images}
    assert winner.headers["docker-content-digest"] == sha256(winner.content)
    assert client.get(f"/v2/{repo}/tags/list").json()["tags"] == ["contested"]
    for image in images:  # every push stored its manifest, whichever kept the tag
        assert client.get(f"/v2/{repo}/manifests/{image.digest}").status_code == 200


def test_same_manifest_pushed_by_many_clients_at_once_is_consistent(
    server: DockyardServer, client: httpx.Client, repo: str
) -> None:
    image = make_image(repo)
    for blob in (image.config, *image.layers):
        push_blob(client, repo, blob)

    def push(c: httpx.Client, i: int) -> str:
        response = push_manifest(c, repo, f"t{i % 2}", image.manifest, image.media_type)
        return response.headers["docker-content-digest"]

    assert together(8, push, server) == [image.digest] * 8
    assert client.get(f"/v2/{repo}/tags/list").json()["tags"] == ["t0", "t1"]


def test_the_same_chunk_sent_twice_at_once_is_taken_exactly_once(
    server: DockyardServer, client: httpx.Client, repo: str
) -> None:
    response = client.post(f"/v2/{repo}/blobs/uploads/")
    location = response.headers["location"]
    first = BLOB[:20_000]
    statuses = together(2, lambda c, _: patch_chunk(c, location, first, 0).status_code, server)
    assert sorted(statuses) == [202, 416]
    status = client.get(location)
    assert status.headers["range"] == f"0-{len(first) - 1}"
    patch_chunk(client, location, BLOB[20_000:], 20_000)
    finished = client.put(location, params={"digest": sha256(BLOB)})
    assert finished.status_code == 201, finished.text
    assert client.get(f"/v2/{repo}/blobs/{sha256(BLOB)}").content == BLOB


def test_many_parallel_uploads_all_succeed_with_the_right_bytes(
    server: DockyardServer, client: httpx.Client, repo: str
) -> None:
    blobs = [f"blob {i} ".encode() * (1000 + 37 * i) for i in range(24)]

    def push(c: httpx.Client, i: int) -> int:
        return chunked_push(c, f"{repo}/{i % 3}", blobs[i], chunk=4096).status_code

    assert together(24, push, server) == [201] * 24
    for i, data in enumerate(blobs):
        response = client.get(f"/v2/{repo}/{i % 3}/blobs/{sha256(data)}")
        assert response.content == data


def test_many_images_pushed_and_pulled_in_parallel(
    server: DockyardServer, client: httpx.Client, repo: str
) -> None:
    images = [make_image(f"{repo}-{i}", layers=3) for i in range(12)]

    def push_and_pull(c: httpx.Client, i: int) -> bool:
        push_image(c, repo, images[i], tag=f"v{i}")
        return c.get(f"/v2/{repo}/manifests/v{i}").content == images[i].manifest

    assert all(together(12, push_and_pull, server))
    tags = client.get(f"/v2/{repo}/tags/list").json()["tags"]
    assert tags == sorted(f"v{i}" for i in range(12))


def test_one_session_finished_by_many_clients_at_once_creates_the_blob_once(
    server: DockyardServer, client: httpx.Client, repo: str
) -> None:
    response = client.post(f"/v2/{repo}/blobs/uploads/")
    location = response.headers["location"]
    assert patch_chunk(client, location, BLOB, 0).status_code == 202

    def finish(c: httpx.Client, _: int) -> httpx.Response:
        return c.put(location, params={"digest": sha256(BLOB)})

    results = together(8, finish, server)
    statuses = sorted(r.status_code for r in results)
    assert statuses == [201] + [404] * 7, [r.text for r in results]
    for refused in (r for r in results if r.status_code == 404):
        assert refused.json()["errors"][0]["code"] == "BLOB_UPLOAD_UNKNOWN"
    assert client.get(f"/v2/{repo}/blobs/{sha256(BLOB)}").content == BLOB


def test_session_finished_and_cancelled_at_once_ends_one_way_or_the_other(
    server: DockyardServer, client: httpx.Client, repo: str
) -> None:
    for attempt in range(6):
        data = BLOB + attempt.to_bytes(1, "big")
        response = client.post(f"/v2/{repo}/blobs/uploads/")
        location = response.headers["location"]
        assert patch_chunk(client, location, data, 0).status_code == 202

        def finish_or_cancel(
            c: httpx.Client, i: int, data: bytes = data, location: str = location
        ) -> int:
            if i % 2:
                return c.delete(location).status_code
            return c.put(location, params={"digest": sha256(data)}).status_code

        finished, cancelled = together(2, finish_or_cancel, server)
        assert (finished, cancelled) in {(201, 404), (404, 204)}
        assert_error(client.get(location), 404, "BLOB_UPLOAD_UNKNOWN")
        blob = client.get(f"/v2/{repo}/blobs/{sha256(data)}")
        assert blob.status_code == (200 if finished == 201 else 404)
        if finished == 201:
            assert blob.content == data
