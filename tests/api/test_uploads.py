"""`/v2/<name>/blobs/uploads/`: monolithic, chunked, streamed, mounted, cancelled uploads."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import httpx
import pytest

from tests.support.api import assert_error, patch_chunk, start_upload, upload_id
from tests.support.images import push_blob, sha256

DATA = b"".join(i.to_bytes(2, "big") for i in range(3000))  # 6000 bytes, no repeats


def assert_blob(client: httpx.Client, repo: str, digest: str, data: bytes) -> None:
    response = client.get(f"/v2/{repo}/blobs/{digest}")
    assert response.status_code == 200, response.text
    assert response.content == data


def assert_created(response: httpx.Response, repo: str, digest: str) -> None:
    assert response.status_code == 201, response.text
    assert response.headers["location"] == f"/v2/{repo}/blobs/{digest}"
    assert response.headers["docker-content-digest"] == digest


def assert_in_progress(response: httpx.Response, status: int, repo: str, size: int) -> str:
    """An upload session's answer: Location, Range of what it holds, Docker-Upload-UUID."""
    assert response.status_code == status, response.text
    location = response.headers["location"]
    assert location.startswith(f"/v2/{repo}/blobs/uploads/")
    assert response.headers["docker-upload-uuid"] == upload_id(location)
    assert response.headers["range"] == f"0-{max(size - 1, 0)}"
    return location


# Monolithic


def test_monolithic_post_with_digest_creates_the_blob_with_201(
    client: httpx.Client, repo: str
) -> None:
    digest = sha256(DATA)
    response = client.post(f"/v2/{repo}/blobs/uploads/", params={"digest": digest}, content=DATA)
    assert_created(response, repo, digest)
    assert_blob(client, repo, digest, DATA)


def test_monolithic_post_of_a_blob_already_stored_succeeds_again(
    client: httpx.Client, repo: str
) -> None:
    digest = push_blob(client, repo, DATA)
    response = client.post(f"/v2/{repo}/blobs/uploads/", params={"digest": digest}, content=DATA)
    assert_created(response, repo, digest)
    assert_blob(client, repo, digest, DATA)


def test_post_without_digest_opens_a_session_with_202(client: httpx.Client, repo: str) -> None:
    response = client.post(f"/v2/{repo}/blobs/uploads/")
    location = assert_in_progress(response, 202, repo, 0)
    assert response.headers["content-length"] == "0"
    status = client.get(location)
    assert_in_progress(status, 204, repo, 0)


def test_post_then_put_with_the_whole_body_creates_the_blob(
    client: httpx.Client, repo: str
) -> None:
    location = start_upload(client, repo)
    digest = sha256(DATA)
    response = client.put(
        location,
        params={"digest": digest},
        content=DATA,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert_created(response, repo, digest)
    assert_blob(client, repo, digest, DATA)


def test_finished_upload_session_is_gone(client: httpx.Client, repo: str) -> None:
    location = start_upload(client, repo)
    assert client.put(location, params={"digest": sha256(DATA)}, content=DATA).status_code == 201
    assert_error(client.get(location), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(client.put(location, params={"digest": sha256(DATA)}), 404, "BLOB_UPLOAD_UNKNOWN")


# Chunked


def test_chunked_upload_with_content_range_assembles_the_blob(
    client: httpx.Client, repo: str
) -> None:
    location = start_upload(client, repo)
    chunks = [DATA[:1000], DATA[1000:4500], DATA[4500:]]
    offset = 0
    for chunk in chunks:
        response = patch_chunk(client, location, chunk, offset)
        offset += len(chunk)
        location = assert_in_progress(response, 202, repo, offset)
    digest = sha256(DATA)
    assert_created(client.put(location, params={"digest": digest}), repo, digest)
    assert_blob(client, repo, digest, DATA)


def test_chunk_out_of_order_is_refused_with_416_and_the_current_range(
    client: httpx.Client, repo: str
) -> None:
    location = start_upload(client, repo)
    assert patch_chunk(client, location, DATA[:1000], 0).status_code == 202
    skipped = patch_chunk(client, location, DATA[2000:3000], 2000)
    assert_error(skipped, 416, "RANGE_INVALID")
    assert skipped.headers["range"] == "0-999"
    # The refused chunk changed nothing: the upload goes on from where it was.
    assert patch_chunk(client, location, DATA[1000:], 1000).status_code == 202
    digest = sha256(DATA)
    assert_created(client.put(location, params={"digest": digest}), repo, digest)
    assert_blob(client, repo, digest, DATA)


def test_chunk_repeating_bytes_already_received_is_refused_with_416(
    client: httpx.Client, repo: str
) -> None:
    location = start_upload(client, repo)
    assert patch_chunk(client, location, DATA[:1000], 0).status_code == 202
    again = patch_chunk(client, location, DATA[:1000], 0)
    assert_error(again, 416, "RANGE_INVALID")
    assert again.headers["range"] == "0-999"
    status = client.get(location)
    assert_in_progress(status, 204, repo, 1000)


@pytest.mark.parametrize("content_range", ["abc", "10-5", "0-99"])
def test_content_range_that_is_malformed_or_disagrees_with_the_body_is_416(
    client: httpx.Client, repo: str, content_range: str
) -> None:
    location = start_upload(client, repo)
    response = client.patch(location, content=DATA[:10], headers={"Content-Range": content_range})
    assert_error(response, 416, "RANGE_INVALID")


def test_patch_without_content_range_streams_and_appends(client: httpx.Client, repo: str) -> None:
    location = start_upload(client, repo)

    def stream(data: bytes) -> Iterator[bytes]:
        for at in range(0, len(data), 500):
            yield data[at : at + 500]

    first = client.patch(location, content=stream(DATA[:2500]))  # chunked transfer encoding
    location = assert_in_progress(first, 202, repo, 2500)
    second = client.patch(location, content=DATA[2500:])
    location = assert_in_progress(second, 202, repo, len(DATA))
    digest = sha256(DATA)
    assert_created(client.put(location, params={"digest": digest}), repo, digest)
    assert_blob(client, repo, digest, DATA)


def test_final_put_carries_the_last_chunk(client: httpx.Client, repo: str) -> None:
    location = start_upload(client, repo)
    location = assert_in_progress(patch_chunk(client, location, DATA[:4000], 0), 202, repo, 4000)
    digest = sha256(DATA)
    response = client.put(
        location,
        params={"digest": digest},
        content=DATA[4000:],
        headers={"Content-Range": f"4000-{len(DATA) - 1}"},
    )
    assert_created(response, repo, digest)
    assert_blob(client, repo, digest, DATA)


@pytest.mark.parametrize("start", [3999, 4001, 0])
def test_final_put_with_a_last_chunk_out_of_order_is_416_with_the_current_range(
    client: httpx.Client, repo: str, start: int
) -> None:
    location = start_upload(client, repo)
    location = assert_in_progress(patch_chunk(client, location, DATA[:4000], 0), 202, repo, 4000)
    chunk = DATA[start:]
    response = client.put(
        location,
        params={"digest": sha256(DATA)},
        content=chunk,
        headers={"Content-Range": f"{start}-{start + len(chunk) - 1}"},
    )
    assert_error(response, 416, "RANGE_INVALID")
    assert response.headers["range"] == "0-3999"
    # The session is as it was: the right last chunk still finishes it.
    assert_in_progress(client.get(location), 204, repo, 4000)
    finished = client.put(
        location,
        params={"digest": sha256(DATA)},
        content=DATA[4000:],
        headers={"Content-Range": f"4000-{len(DATA) - 1}"},
    )
    assert_created(finished, repo, sha256(DATA))
    assert_blob(client, repo, sha256(DATA), DATA)


def test_upload_status_reports_what_the_session_holds(client: httpx.Client, repo: str) -> None:
    location = start_upload(client, repo)
    patch_chunk(client, location, DATA[:1234], 0)
    response = client.get(location)
    assert_in_progress(response, 204, repo, 1234)
    assert response.content == b""


# Cancel and unknown sessions


def test_delete_cancels_the_upload_then_it_is_unknown(client: httpx.Client, repo: str) -> None:
    location = start_upload(client, repo)
    patch_chunk(client, location, DATA[:1000], 0)
    assert client.delete(location).status_code == 204
    assert_error(client.get(location), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(patch_chunk(client, location, DATA[1000:], 1000), 404, "BLOB_UPLOAD_UNKNOWN")
    finished = client.put(location, params={"digest": sha256(DATA[:1000])})
    assert_error(finished, 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(client.delete(location), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(client.get(f"/v2/{repo}/blobs/{sha256(DATA[:1000])}"), 404, "BLOB_UNKNOWN")


@pytest.mark.parametrize("method", ["GET", "PATCH", "PUT", "DELETE"])
@pytest.mark.parametrize("session", ["no-such-upload", "00000000-0000-0000-0000-000000000000"])
def test_unknown_upload_id_is_404_blob_upload_unknown(
    client: httpx.Client, repo: str, method: str, session: str
) -> None:
    push_blob(client, repo, b"so the repository exists")
    response = client.request(
        method,
        f"/v2/{repo}/blobs/uploads/{session}",
        params={"digest": sha256(b"x")} if method == "PUT" else None,
        content=b"x" if method in ("PATCH", "PUT") else None,
    )
    error = assert_error(response, 404, "BLOB_UPLOAD_UNKNOWN")
    assert error["detail"] == {"uuid": session}


def test_upload_session_is_unknown_under_another_repository(
    client: httpx.Client, repo: str
) -> None:
    location = start_upload(client, f"{repo}/a")
    elsewhere = location.replace(f"/v2/{repo}/a/", f"/v2/{repo}/b/")
    assert_error(client.get(elsewhere), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(patch_chunk(client, elsewhere, DATA, 0), 404, "BLOB_UPLOAD_UNKNOWN")
    assert client.get(location).status_code == 204


# Digests


def test_sha512_upload_is_verified_and_served(client: httpx.Client, repo: str) -> None:
    digest = "sha512:" + hashlib.sha512(DATA).hexdigest()
    location = start_upload(client, repo)
    patch_chunk(client, location, DATA[:3000], 0)
    response = client.put(location, params={"digest": digest}, content=DATA[3000:])
    assert_created(response, repo, digest)
    assert_blob(client, repo, digest, DATA)


def test_wrong_sha512_digest_is_refused(client: httpx.Client, repo: str) -> None:
    wrong = "sha512:" + hashlib.sha512(b"other bytes").hexdigest()
    response = client.post(f"/v2/{repo}/blobs/uploads/", params={"digest": wrong}, content=DATA)
    assert_error(response, 400, "DIGEST_INVALID")
    assert_error(client.get(f"/v2/{repo}/blobs/{wrong}"), 404, "BLOB_UNKNOWN")


def test_monolithic_post_with_wrong_digest_is_400_and_nothing_is_stored(
    client: httpx.Client, repo: str
) -> None:
    wrong = sha256(b"not these bytes")
    response = client.post(f"/v2/{repo}/blobs/uploads/", params={"digest": wrong}, content=DATA)
    assert_error(response, 400, "DIGEST_INVALID")
    assert_error(client.get(f"/v2/{repo}/blobs/{wrong}"), 404, "BLOB_UNKNOWN")
    assert_error(client.get(f"/v2/{repo}/blobs/{sha256(DATA)}"), 404, "BLOB_UNKNOWN")


def test_final_put_with_wrong_digest_is_400_and_the_blob_is_not_visible(
    client: httpx.Client, repo: str
) -> None:
    location = start_upload(client, repo)
    patch_chunk(client, location, DATA, 0)
    wrong = sha256(DATA + b"!")
    error = assert_error(client.put(location, params={"digest": wrong}), 400, "DIGEST_INVALID")
    assert error["detail"] == {"expected": wrong, "actual": sha256(DATA)}
    assert_error(client.get(f"/v2/{repo}/blobs/{wrong}"), 404, "BLOB_UNKNOWN")
    assert_error(client.get(f"/v2/{repo}/blobs/{sha256(DATA)}"), 404, "BLOB_UNKNOWN")


@pytest.mark.parametrize("query", [{}, {"digest": ""}, {"digest": "garbage"}])
def test_put_without_a_valid_digest_is_400(
    client: httpx.Client, repo: str, query: dict[str, str]
) -> None:
    location = start_upload(client, repo)
    patch_chunk(client, location, DATA, 0)
    assert_error(client.put(location, params=query), 400, "DIGEST_INVALID")


def test_post_with_malformed_digest_is_400(client: httpx.Client, repo: str) -> None:
    response = client.post(f"/v2/{repo}/blobs/uploads/", params={"digest": "sha256:1"}, content=b"")
    assert_error(response, 400, "DIGEST_INVALID")


# Cross-repository mount


def test_mount_from_a_repository_holding_the_blob_is_201(client: httpx.Client, repo: str) -> None:
    digest = push_blob(client, f"{repo}/source", DATA)
    response = client.post(
        f"/v2/{repo}/target/blobs/uploads/", params={"mount": digest, "from": f"{repo}/source"}
    )
    assert_created(response, f"{repo}/target", digest)
    assert_blob(client, f"{repo}/target", digest, DATA)
    head = client.head(f"/v2/{repo}/target/blobs/{digest}")
    assert head.headers["content-length"] == str(len(DATA))


def test_mount_from_a_repository_without_the_blob_falls_back_to_an_upload_session(
    client: httpx.Client, repo: str
) -> None:
    digest = push_blob(client, f"{repo}/holder", DATA)
    push_blob(client, f"{repo}/source", b"something else")
    response = client.post(
        f"/v2/{repo}/target/blobs/uploads/", params={"mount": digest, "from": f"{repo}/source"}
    )
    location = assert_in_progress(response, 202, f"{repo}/target", 0)
    assert_error(client.get(f"/v2/{repo}/target/blobs/{digest}"), 404, "BLOB_UNKNOWN")
    # The session it opened is an ordinary one: the blob can be pushed through it.
    assert_created(
        client.put(location, params={"digest": digest}, content=DATA), f"{repo}/target", digest
    )
    assert_blob(client, f"{repo}/target", digest, DATA)


@pytest.mark.parametrize("source", ["does/not-exist", "Invalid Name"])
def test_mount_from_an_unknown_repository_falls_back_to_an_upload_session(
    client: httpx.Client, repo: str, source: str
) -> None:
    digest = push_blob(client, f"{repo}/holder", DATA)
    response = client.post(f"/v2/{repo}/blobs/uploads/", params={"mount": digest, "from": source})
    assert_in_progress(response, 202, repo, 0)


def test_mount_without_from_falls_back_to_an_upload_session(
    client: httpx.Client, repo: str
) -> None:
    digest = push_blob(client, f"{repo}/holder", DATA)
    response = client.post(f"/v2/{repo}/blobs/uploads/", params={"mount": digest})
    assert_in_progress(response, 202, repo, 0)
    assert_error(client.get(f"/v2/{repo}/blobs/{digest}"), 404, "BLOB_UNKNOWN")


def test_mounted_blob_stays_when_the_source_deletes_it(client: httpx.Client, repo: str) -> None:
    digest = push_blob(client, f"{repo}/source", DATA)
    mounted = client.post(
        f"/v2/{repo}/target/blobs/uploads/", params={"mount": digest, "from": f"{repo}/source"}
    )
    assert mounted.status_code == 201
    assert client.delete(f"/v2/{repo}/source/blobs/{digest}").status_code == 202
    assert_blob(client, f"{repo}/target", digest, DATA)


@pytest.mark.parametrize("upload_id", ["%00", "a%00b", "not-a-session", "A" * 36])
def test_a_session_id_no_upload_could_have_is_unknown(
    client: httpx.Client, repo: str, upload_id: str
) -> None:
    # A NUL reached PostgreSQL, which refuses it in text: a 500 before.
    location = f"/v2/{repo}/blobs/uploads/{upload_id}"
    assert_error(client.get(location), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(patch_chunk(client, location, DATA[:10], 0), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(client.put(location, params={"digest": sha256(DATA)}), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(client.delete(location), 404, "BLOB_UPLOAD_UNKNOWN")
