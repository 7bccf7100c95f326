"""`/v2/<name>/blobs/<digest>`: HEAD, GET with ranges, DELETE, and per-repository visibility."""

from __future__ import annotations

import hashlib
import os
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from dockyard.registry.handlers.blobs import FAST_STREAMS
from tests.support.api import assert_error, assert_head_error
from tests.support.images import make_image, push_blob, sha256
from tests.support.servers import dockyard_server
from tests.support.waiting import eventually

DATA = bytes(range(256)) * 4  # 1024 bytes, every byte value, so a wrong offset shows


def test_head_blob_gives_length_and_digest_without_body(client: httpx.Client, repo: str) -> None:
    digest = push_blob(client, repo, DATA)
    response = client.head(f"/v2/{repo}/blobs/{digest}")
    assert response.status_code == 200
    assert response.headers["content-length"] == str(len(DATA))
    assert response.headers["docker-content-digest"] == digest
    assert response.content == b""


def test_get_blob_returns_its_bytes_length_and_digest(client: httpx.Client, repo: str) -> None:
    digest = push_blob(client, repo, DATA)
    response = client.get(f"/v2/{repo}/blobs/{digest}")
    assert response.status_code == 200
    assert response.content == DATA
    assert response.headers["content-length"] == str(len(DATA))
    assert response.headers["docker-content-digest"] == digest
    assert response.headers["content-type"] == "application/octet-stream"


def test_empty_blob_reads_back_empty(client: httpx.Client, repo: str) -> None:
    digest = push_blob(client, repo, b"")
    response = client.get(f"/v2/{repo}/blobs/{digest}")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == "0"


def test_sha512_blob_reads_back_by_its_sha512_digest(client: httpx.Client, repo: str) -> None:
    digest = "sha512:" + hashlib.sha512(DATA).hexdigest()
    pushed = client.post(f"/v2/{repo}/blobs/uploads/", params={"digest": digest}, content=DATA)
    assert pushed.status_code == 201, pushed.text
    response = client.get(f"/v2/{repo}/blobs/{digest}")
    assert response.status_code == 200
    assert response.content == DATA
    assert response.headers["docker-content-digest"] == digest


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-9", 0, 9),
        ("bytes=100-199", 100, 199),
        ("bytes=1000-", 1000, 1023),
        ("bytes=-24", 1000, 1023),
        ("bytes=1020-5000", 1020, 1023),  # an end past the blob is cut to the blob
        ("bytes=1023-1023", 1023, 1023),
    ],
)
def test_range_request_returns_206_with_content_range(
    client: httpx.Client, repo: str, header: str, start: int, end: int
) -> None:
    digest = push_blob(client, repo, DATA)
    response = client.get(f"/v2/{repo}/blobs/{digest}", headers={"Range": header})
    assert response.status_code == 206
    assert response.content == DATA[start : end + 1]
    assert response.headers["content-range"] == f"bytes {start}-{end}/{len(DATA)}"
    assert response.headers["content-length"] == str(end - start + 1)
    assert response.headers["docker-content-digest"] == digest


@pytest.mark.parametrize("header", ["bytes=1024-", "bytes=5000-6000", "bytes=10-5", "bytes=x-y"])
def test_unsatisfiable_range_is_refused_with_416(
    client: httpx.Client, repo: str, header: str
) -> None:
    digest = push_blob(client, repo, DATA)
    response = client.get(f"/v2/{repo}/blobs/{digest}", headers={"Range": header})
    assert_error(response, 416, "RANGE_INVALID")
    assert response.headers["content-range"] == f"bytes */{len(DATA)}"


def test_range_of_empty_blob_is_unsatisfiable(client: httpx.Client, repo: str) -> None:
    digest = push_blob(client, repo, b"")
    response = client.get(f"/v2/{repo}/blobs/{digest}", headers={"Range": "bytes=0-"})
    assert_error(response, 416, "RANGE_INVALID")


def test_delete_blob_answers_202_then_blob_is_unknown(client: httpx.Client, repo: str) -> None:
    digest = push_blob(client, repo, DATA)
    deleted = client.delete(f"/v2/{repo}/blobs/{digest}")
    assert deleted.status_code == 202
    assert deleted.headers["docker-content-digest"] == digest
    error = assert_error(client.get(f"/v2/{repo}/blobs/{digest}"), 404, "BLOB_UNKNOWN")
    assert error["detail"] == {"digest": digest}
    assert_head_error(client.head(f"/v2/{repo}/blobs/{digest}"), 404)
    assert_error(client.delete(f"/v2/{repo}/blobs/{digest}"), 404, "BLOB_UNKNOWN")


def test_deleting_a_blob_in_one_repository_leaves_it_in_another(
    client: httpx.Client, repo: str
) -> None:
    digest = push_blob(client, f"{repo}/a", DATA)
    push_blob(client, f"{repo}/b", DATA)
    assert client.delete(f"/v2/{repo}/a/blobs/{digest}").status_code == 202
    assert client.get(f"/v2/{repo}/b/blobs/{digest}").content == DATA


def test_deleted_blob_can_be_pushed_again(client: httpx.Client, repo: str) -> None:
    digest = push_blob(client, repo, DATA)
    assert client.delete(f"/v2/{repo}/blobs/{digest}").status_code == 202
    push_blob(client, repo, DATA)
    assert client.get(f"/v2/{repo}/blobs/{digest}").content == DATA


def test_blob_pushed_to_one_repository_is_invisible_in_another(
    client: httpx.Client, repo: str
) -> None:
    digest = push_blob(client, f"{repo}/a", DATA)
    push_blob(client, f"{repo}/b", b"something else, so repository b exists")
    assert_error(client.get(f"/v2/{repo}/b/blobs/{digest}"), 404, "BLOB_UNKNOWN")
    assert_head_error(client.head(f"/v2/{repo}/b/blobs/{digest}"), 404)
    assert_error(client.delete(f"/v2/{repo}/b/blobs/{digest}"), 404, "BLOB_UNKNOWN")


def test_unknown_blob_is_404_blob_unknown(client: httpx.Client, repo: str) -> None:
    push_blob(client, repo, DATA)
    unknown = sha256(b"never pushed")
    assert_error(client.get(f"/v2/{repo}/blobs/{unknown}"), 404, "BLOB_UNKNOWN")
    assert_head_error(client.head(f"/v2/{repo}/blobs/{unknown}"), 404)


def test_blob_of_unknown_repository_is_404(client: httpx.Client, repo: str) -> None:
    digest = push_blob(client, f"{repo}/exists", DATA)
    assert_error(client.get(f"/v2/{repo}/missing/blobs/{digest}"), 404, "BLOB_UNKNOWN")


@pytest.mark.parametrize(
    "digest",
    [
        "not-a-digest",
        "sha256:abc",
        "sha256:" + "0" * 63,
        "sha256:" + "0" * 65,
        "sha256:" + "A" * 64,  # hex must be lowercase
        "sha256:" + "g" * 64,
        "sha512:" + "0" * 64,  # sha512 is 128 hex characters
        "md5:d41d8cd98f00b204e9800998ecf8427e",
        "SHA256:" + "0" * 64,
        ":" + "0" * 64,
    ],
)
@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_malformed_digest_is_400_digest_invalid(
    client: httpx.Client, repo: str, digest: str, method: str
) -> None:
    push_blob(client, repo, DATA)
    assert_error(client.request(method, f"/v2/{repo}/blobs/{digest}"), 400, "DIGEST_INVALID")


def test_head_with_malformed_digest_is_400(client: httpx.Client, repo: str) -> None:
    assert_head_error(client.head(f"/v2/{repo}/blobs/sha256:abc"), 400)


def test_manifest_referencing_a_deleted_blob_is_refused(client: httpx.Client, repo: str) -> None:
    image = make_image(repo, layers=1)
    for blob in (image.config, *image.layers):
        push_blob(client, repo, blob)
    assert client.delete(f"/v2/{repo}/blobs/{sha256(image.layers[0])}").status_code == 202
    response = client.put(
        f"/v2/{repo}/manifests/latest",
        content=image.manifest,
        headers={"Content-Type": image.media_type},
    )
    assert_error(response, 400, "MANIFEST_BLOB_UNKNOWN")


def test_past_the_fast_streams_blobs_go_by_pathsend_whole_and_ranged(tmp_path: Path) -> None:
    """A process streams at most FAST_STREAMS blobs through its reader threads; more at once
    go by Granian's pathsend (their answers carry the file's ETag, which Starlette's
    FileResponse adds and the thread reader does not). Every client gets its bytes either way,
    and once the streams end the next blob is read by a thread again."""
    data = os.urandom(1024 * 1024) * 64  # held up by clients that do not read yet
    digest = sha256(data)
    env = {"DOCKYARD_HTTP__WORKERS": "1"}  # all the streams in one process
    with (
        dockyard_server(tmp_path / "data", env=env) as server,
        httpx.Client(base_url=server.url, timeout=60) as client,
        ExitStack() as streams,
    ):
        push_blob(client, "big/blob", data)
        url = f"/v2/big/blob/blobs/{digest}"
        held = [streams.enter_context(client.stream("GET", url)) for _ in range(FAST_STREAMS + 1)]
        assert ["etag" in response.headers for response in held] == [False] * FAST_STREAMS + [True]
        ranged = client.get(url, headers={"Range": "bytes=1000-2999"})
        assert ranged.status_code == 206
        assert "etag" in ranged.headers
        assert ranged.content == data[1000:3000]
        for response in held:
            assert response.status_code == 200
            assert hashlib.sha256(response.read()).hexdigest() == digest.removeprefix("sha256:")
        streams.close()

        # A stream counts as ended once its task has run past its last piece, which may come
        # a moment after the client has read that piece.
        def by_thread() -> httpx.Response | None:
            answer = client.get(url, headers={"Range": "bytes=0-9"})
            return None if "etag" in answer.headers else answer

        after = eventually(by_thread, seconds=10, what="a GET read by a thread again")
        assert after.content == data[:10]


def test_a_blob_whose_file_was_removed_is_unknown_not_a_cut_200(tmp_path: Path) -> None:
    big = os.urandom(1024 * 1024) * 64  # held up by clients that do not read yet
    data = tmp_path / "data"
    with (
        dockyard_server(data, env={"DOCKYARD_HTTP__WORKERS": "1"}) as server,
        httpx.Client(base_url=server.url, timeout=60) as client,
        ExitStack() as streams,
    ):
        digest = push_blob(client, "lost/app", DATA)
        big_url = f"/v2/lost/app/blobs/{push_blob(client, 'lost/app', big)}"
        (data / "storage" / "blobs" / "sha256" / digest[7:9] / digest[7:]).unlink()
        assert_error(client.get(f"/v2/lost/app/blobs/{digest}"), 404, "BLOB_UNKNOWN")
        for _ in range(FAST_STREAMS):  # the next GET goes by pathsend
            streams.enter_context(client.stream("GET", big_url))
        assert_error(client.get(f"/v2/lost/app/blobs/{digest}"), 404, "BLOB_UNKNOWN")
