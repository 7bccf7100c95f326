"""Inputs that fuzzing once turned into 500s, forged log lines and early refusals, each against a
real server (auth none here; the /api's in test_hostile_api.py)."""

from __future__ import annotations

import json
import re
import socket

import httpx
import pytest

from tests.support.api import assert_error, assert_head_error, patch_chunk, start_upload
from tests.support.images import OCI_CONFIG, OCI_MANIFEST, descriptor, push_blob, sha256
from tests.support.raw_http import BackgroundSender, connect, read_response, send_head
from tests.support.servers import DockyardServer
from tests.support.waiting import eventually

HUGE = "9" * 4301  # one digit more than Python converts from a string


@pytest.mark.parametrize("n", ["%C2%B2", "%E2%91%A0", "%D9%A1", "1%C2%B2", "-1", "0x10", " 1"])
def test_pagination_numbers_outside_ascii_digits_are_refused(
    client: httpx.Client, repo: str, n: str
) -> None:
    push_blob(client, repo, b"so that the repository exists")
    for path in ("/v2/_catalog", f"/v2/{repo}/tags/list"):
        response = client.get(f"{path}?n={n}")
        assert_error(response, 400, "PAGINATION_NUMBER_INVALID")


def test_pagination_number_of_thousands_of_digits_is_capped(client: httpx.Client) -> None:
    response = client.get("/v2/_catalog", params={"n": HUGE})
    assert response.status_code == 200, response.text
    assert isinstance(response.json()["repositories"], list)


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_range_positions_of_thousands_of_digits(
    client: httpx.Client, repo: str, method: str
) -> None:
    data = b"0123456789"
    digest = push_blob(client, repo, data)
    path = f"/v2/{repo}/blobs/{digest}"
    past_the_end = client.request(method, path, headers={"Range": f"bytes={HUGE}-"})
    if method == "GET":
        assert_error(past_the_end, 416, "RANGE_INVALID")
    else:
        assert_head_error(past_the_end, 416)
    # A suffix longer than the blob is the whole blob (RFC 9110), and an end past it is the end.
    for header in (f"bytes=-{HUGE}", f"bytes=2-{HUGE}"):
        whole = client.request(method, path, headers={"Range": header})
        assert whole.status_code == 206, (header, whole.text)
        start = 0 if header.startswith("bytes=-") else 2
        assert whole.headers["content-range"] == f"bytes {start}-9/10"
        if method == "GET":
            assert whole.content == data[start:]


@pytest.mark.parametrize("header", ["bytes=\u00b2-3", "bytes=\u0660-3", "bytes=0-\u0663"])
def test_range_digits_outside_ascii_are_refused(
    client: httpx.Client, repo: str, header: str
) -> None:
    digest = push_blob(client, repo, b"0123456789")
    response = client.get(f"/v2/{repo}/blobs/{digest}", headers=[(b"Range", header.encode())])
    assert_error(response, 416, "RANGE_INVALID")


def test_content_range_of_thousands_of_digits(client: httpx.Client, repo: str) -> None:
    location = start_upload(client, repo)
    for where in (location, f"/v2/{repo}/blobs/uploads/no-such-session"):
        for header in (f"0-{HUGE}", f"{HUGE}-{HUGE}", "0-\u0663"):
            headers = [(b"Content-Range", header.encode())]
            response = client.patch(where, content=b"abcd", headers=headers)
            assert_error(response, 416, "RANGE_INVALID")
    # The session is untouched and still takes its first chunk.
    assert patch_chunk(client, location, b"abcd", 0).status_code == 202


def _artifact(config_type: str, **extra: object) -> bytes:
    document = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": descriptor(config_type, b"{}"),
        "layers": [],
        **extra,
    }
    return json.dumps(document).encode()  # ensure_ascii: a lone surrogate as "\ud800"


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (_artifact(OCI_CONFIG, artifactType="application/x\ud800"), "artifactType"),
        (_artifact("application/x\ud800"), "config.mediaType"),
        (_artifact(OCI_CONFIG, artifactType="application/x\u0000y"), "artifactType"),
        (_artifact("application/x\u0000y"), "config.mediaType"),
    ],
)
def test_manifest_fields_the_registry_indexes_must_be_storable_text(
    client: httpx.Client, repo: str, body: bytes, where: str
) -> None:
    push_blob(client, repo, b"{}")
    response = client.put(
        f"/v2/{repo}/manifests/v1", content=body, headers={"Content-Type": OCI_MANIFEST}
    )
    error = assert_error(response, 400, "MANIFEST_INVALID")
    assert where in error["message"]
    assert_error(client.get(f"/v2/{repo}/manifests/v1"), 404, "MANIFEST_UNKNOWN")


def test_lone_surrogates_elsewhere_are_only_bytes_the_digest_covers(
    client: httpx.Client, repo: str
) -> None:
    push_blob(client, repo, b"{}")
    body = _artifact(OCI_CONFIG, annotations={"note": "odd \ud800 text"})
    response = client.put(
        f"/v2/{repo}/manifests/v1", content=body, headers={"Content-Type": OCI_MANIFEST}
    )
    assert response.status_code == 201, response.text
    stored = client.get(f"/v2/{repo}/manifests/v1", headers={"Accept": OCI_MANIFEST})
    assert stored.content == body
    assert stored.headers["docker-content-digest"] == sha256(body)


def test_referrers_echo_annotations_with_lone_surrogates_as_pushed(
    client: httpx.Client, repo: str
) -> None:
    push_blob(client, repo, b"{}")
    subject = _artifact(OCI_CONFIG, artifactType="application/x.subject")
    headers = {"Content-Type": OCI_MANIFEST}
    assert client.put(f"/v2/{repo}/manifests/v1", content=subject, headers=headers).is_success
    referrer = _artifact(
        OCI_CONFIG,
        artifactType="application/x.note",
        subject=descriptor(OCI_MANIFEST, subject),
        annotations={"note": "odd \ud800 text \u00e9"},
    )
    digest = sha256(referrer)
    assert client.put(
        f"/v2/{repo}/manifests/{digest}", content=referrer, headers=headers
    ).is_success
    listed = client.get(f"/v2/{repo}/referrers/{sha256(subject)}")
    assert listed.status_code == 200, listed.text
    assert b'"odd \\ud800 text \\u00e9"' in listed.content
    [entry] = json.loads(listed.content)["manifests"]
    assert entry["annotations"] == {"note": "odd \ud800 text \u00e9"}


def test_query_values_with_nul_reach_no_database(client: httpx.Client, repo: str) -> None:
    digest = push_blob(client, repo, b"nul queries")
    assert client.get("/v2/_catalog", params={"last": "a\0b"}).status_code == 200
    tags = client.get(f"/v2/{repo}/tags/list", params={"last": "\0"})
    assert tags.status_code in (200, 404), tags.text
    referrers = client.get(f"/v2/{repo}/referrers/{digest}", params={"artifactType": "a\0"})
    assert referrers.status_code == 200, referrers.text
    assert referrers.json()["manifests"] == []
    mount = client.post(f"/v2/{repo}-b/blobs/uploads/", params={"mount": digest, "from": "x\0"})
    assert mount.status_code == 202, mount.text  # no such source: an ordinary upload session


def test_upload_body_shorter_than_its_length_keeps_the_session_resumable(
    server: DockyardServer, client: httpx.Client, repo: str
) -> None:
    location = start_upload(client, repo)
    assert patch_chunk(client, location, b"first", 0).status_code == 202
    with connect(server.url) as sock:
        headers = {"Content-Length": "1000", "Content-Range": "5-1004"}
        send_head(sock, "PATCH", location, headers)
        sock.sendall(b"only a few bytes")
        sock.shutdown(socket.SHUT_WR)
        answer = read_response(sock)
    assert answer.status == 400, answer.body
    assert answer.json()["errors"][0]["code"] == "SIZE_INVALID"
    status = client.get(location)
    assert status.status_code == 204
    assert status.headers["range"] == "0-4"  # what was committed, nothing of the broken chunk
    finish = client.put(location, params={"digest": sha256(b"first second")}, content=b" second")
    assert finish.status_code == 201, finish.text


def test_client_text_cannot_forge_log_lines(server: DockyardServer, client: httpx.Client) -> None:
    forged = "2026-01-01 00:00:00,000 INFO dockyard.access FORGED"
    path = "/v2/x%0a" + forged.replace(" ", "%20") + "%0d/tags/list"
    client.get(path)
    escaped = "x\\n2026-01-01 00:00:00,000 INFO dockyard.access FORGED\\r/tags/list"
    # The access log writes its lines in batches, a moment after the answer.

    def written() -> str | None:
        text = server.log.read_text()
        return text if escaped in text else None

    log = eventually(written, what="the access line")
    assert not re.search(r"^2026-01-01 00:00:00,000", log, re.MULTILINE)


def test_a_refused_small_body_leaves_the_connection_usable(
    server: DockyardServer, repo: str
) -> None:
    body = b"x" * 300_000
    with connect(server.url) as sock:
        for _ in range(3):  # an unknown session: refused before its body is read
            send_head(
                sock, "PATCH", f"/v2/{repo}/blobs/uploads/none", {"Content-Length": str(len(body))}
            )
            sock.sendall(body)
            answer = read_response(sock)
            assert answer.status == 404
            assert answer.headers.get("connection") != "close"
        send_head(sock, "GET", "/v2/", {})
        assert read_response(sock).status == 200


def test_a_refused_large_body_is_answered_before_the_connection_closes(
    server: DockyardServer, repo: str
) -> None:
    size = 64 * 1024 * 1024
    with connect(server.url) as sock:
        send_head(sock, "PATCH", f"/v2/{repo}/blobs/uploads/none", {"Content-Length": str(size)})
        sending = BackgroundSender(sock, size)
        answer = read_response(sock)
        sending.join(60)
    assert answer.status == 404
    assert answer.headers["connection"] == "close"
    assert sending.error is None  # not reset while it was still sending
    assert sending.left == 0
