"""Fuzzing manifest PUTs with near-valid image manifests and indexes (pointing at content the
repository holds, so that some are stored), broken JSON and random bytes; what was stored is
read back and listed. And manifest reads with random references and Accept headers."""

from __future__ import annotations

import json
from typing import Any
from uuid import uuid4

from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.profile import fuzz_settings
from tests.fuzz.strategies import (
    FRESH_SUBJECT,
    auths,
    header_bytes,
    manifest_bodies,
    media_types,
    path_text,
    references,
    storable_indexes,
    storable_manifests,
    tags,
)
from tests.fuzz.target import (
    BASE_DIGEST,
    CONTENT_REPO,
    MANIFEST_REPO,
    OCI_MANIFEST,
    Auth,
    FuzzTarget,
    sha256,
)
from tests.fuzz.wire import Header, encode


@fuzz_settings(examples=120)
@given(
    body=manifest_bodies,
    reference=st.one_of(tags, st.just("by-digest"), references),
    content_type=st.one_of(st.none(), st.just(OCI_MANIFEST), media_types),
    auth=auths(),
    then_delete=st.booleans(),
)
def test_manifest_put_answers_without_a_server_error(
    target: FuzzTarget,
    body: bytes,
    reference: str,
    content_type: str | None,
    auth: Auth,
    then_delete: bool,
) -> None:
    if reference == "by-digest":
        reference = sha256(body)
    headers: list[Header] = target.auth_headers(auth, "registry", MANIFEST_REPO)
    if content_type is not None:
        headers.append((b"Content-Type", header_bytes(content_type)))
    path = f"/v2/{MANIFEST_REPO}/manifests/"
    answer = target.send("PUT", path + encode(reference), headers, body)
    if answer.status != 201:
        return
    # Stored: it reads back as sent, by digest, and its listings answer.
    digest = answer.headers["docker-content-digest"]
    pulled = target.send("GET", path + digest, headers)
    assert pulled.status == 200 and pulled.body == body, pulled.describe()
    target.send("GET", f"/v2/{MANIFEST_REPO}/referrers/{digest}", headers)
    target.send("GET", f"/v2/{MANIFEST_REPO}/tags/list", headers)
    if then_delete:
        target.send("DELETE", path + digest, headers)


@fuzz_settings(examples=60)
@given(
    document=st.one_of(storable_manifests, storable_indexes),
    ensure_ascii=st.sampled_from([True, True, False]),  # False: invalid UTF-8 for surrogates
    tag=st.one_of(st.none(), st.none(), tags),
    content_type=st.sampled_from([None, "derived"]),
)
def test_storable_manifests_with_odd_text_answer_without_a_server_error(
    target: FuzzTarget,
    document: dict[str, Any],
    ensure_ascii: bool,
    tag: str | None,
    content_type: str | None,
) -> None:
    """Manifests that point at content the repository holds, with odd unicode (lone
    surrogates, escaped or not) in artifactType, media types and annotations."""
    if "subject" in document:  # a subject of this run's own, with no referrers yet
        document = {**document, "subject": {**FRESH_SUBJECT, "digest": sha256(uuid4().bytes)}}
    body = json.dumps(document, ensure_ascii=ensure_ascii).encode("utf-8", "surrogatepass")
    headers: list[Header] = target.auth_headers("proper", "registry", MANIFEST_REPO)
    if content_type is not None:
        headers.append((b"Content-Type", header_bytes(document["mediaType"])))
    reference = sha256(body) if tag is None else encode(tag)
    answer = target.send("PUT", f"/v2/{MANIFEST_REPO}/manifests/{reference}", headers, body)
    if answer.status == 201:
        digest = answer.headers["docker-content-digest"]
        pulled = target.send("GET", f"/v2/{MANIFEST_REPO}/manifests/{digest}", headers)
        assert pulled.status == 200 and pulled.body == body, pulled.describe()
        if "subject" in document:
            referrers = f"/v2/{MANIFEST_REPO}/referrers/{document['subject']['digest']}"
            target.send("GET", referrers, headers)
            if "artifactType" in document:
                query = "?artifactType=" + encode(document["artifactType"])
                target.send("GET", referrers + query, headers)


@fuzz_settings(examples=60)
@given(
    reference=st.one_of(st.sampled_from(["base", BASE_DIGEST]), references).flatmap(path_text),
    method=st.sampled_from(["GET", "HEAD", "DELETE"]),
    accept=st.lists(media_types, max_size=3),
    auth=auths(),
)
def test_manifest_reads_answer_without_a_server_error(
    target: FuzzTarget, reference: str, method: str, accept: list[str], auth: Auth
) -> None:
    # DELETE in the fuzzed manifests' repository: the content others point at stays.
    repository = MANIFEST_REPO if method == "DELETE" else CONTENT_REPO
    headers = target.auth_headers(auth, "registry", repository)
    headers += [(b"Accept", header_bytes(a)) for a in accept]
    target.send(method, f"/v2/{repository}/manifests/{reference}", headers)
