"""Fuzzing the /v2 API and the v1 endpoints: every route with random names, references, digests,
query strings and headers, and random bodies on the methods that take one."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.profile import fuzz_settings
from tests.fuzz.strategies import (
    Draw,
    auths,
    digests,
    header_bytes,
    names,
    numbers,
    odd_text,
    path_text,
    query_strings,
    ranges,
    references,
    registry_headers,
    tags,
)
from tests.fuzz.target import CONTENT_REPO, KNOWN_BLOBS, Auth, FuzzTarget
from tests.fuzz.wire import Header, encode

KNOWN = list(KNOWN_BLOBS)
METHODS = ["GET", "GET", "HEAD", "PUT", "POST", "PATCH", "DELETE", "OPTIONS", "TRACE", "FUZZ"]


@dataclass(frozen=True)
class RegistryRequest:
    method: str
    target: str
    headers: list[Header]
    body: bytes
    auth: Auth
    repository: str | None  # whose token "proper" means

    def send(self, fuzz: FuzzTarget) -> None:
        headers = [*fuzz.auth_headers(self.auth, "registry", self.repository), *self.headers]
        fuzz.send(self.method, self.target, headers, self.body)


def _path(draw: Draw, route: str, name: str) -> str:
    if route == "base":
        return "/v2/"
    if route == "catalog":
        return "/v2/_catalog"
    if route == "tags":
        return f"/v2/{name}/tags/list"
    if route == "manifests":
        return f"/v2/{name}/manifests/{draw(references.flatmap(path_text))}"
    if route in ("blobs", "referrers"):
        return f"/v2/{name}/{route}/{draw(digests.flatmap(path_text))}"
    if route == "uploads":
        return f"/v2/{name}/blobs/uploads/"
    if route == "upload":
        return f"/v2/{name}/blobs/uploads/{draw(odd_text.flatmap(path_text))}"
    if route == "v1-ping":
        return "/v1/_ping"
    if route == "v1-tags":
        return f"/v1/repositories/{name}/tags"
    if route == "v1-tag":
        return f"/v1/repositories/{name}/tags/{draw(tags.flatmap(path_text))}"
    if route == "v1-repository":
        return f"/v1/repositories/{name}/"
    return "/" + draw(odd_text.flatmap(path_text))


@st.composite
def registry_requests(draw: Draw) -> RegistryRequest:
    route = draw(
        st.sampled_from(
            [
                "base",
                "catalog",
                "tags",
                "manifests",
                "blobs",
                "referrers",
                "uploads",
                "upload",
                "v1-ping",
                "v1-tags",
                "v1-tag",
                "v1-repository",
                "elsewhere",
            ]
        )
    )
    name = draw(names)
    path = _path(draw, route, draw(path_text(name)))
    if route.startswith("v1-") and "/" not in name:
        name = f"library/{name}"  # what the v1 route checks access to
    method = draw(st.sampled_from(METHODS))
    body = draw(st.binary(max_size=64))  # manifests have tests of their own
    return RegistryRequest(
        method=method,
        target=path + draw(query_strings()),
        headers=draw(registry_headers),
        body=body if method in ("PUT", "POST", "PATCH") or draw(st.booleans()) else b"",
        auth=draw(auths()),
        repository=None if route in ("base", "catalog", "v1-ping") else name,
    )


@fuzz_settings(examples=100)
@given(request=registry_requests())
def test_any_request_to_the_registry_answers_without_a_server_error(
    target: FuzzTarget, request: RegistryRequest
) -> None:
    request.send(target)


@fuzz_settings(examples=50)
@given(
    digest=st.one_of(
        st.sampled_from(list(KNOWN_BLOBS)), st.sampled_from(list(KNOWN_BLOBS)), digests
    ),
    method=st.sampled_from(["GET", "HEAD"]),
    range_header=ranges,
    auth=auths(),
)
def test_blob_ranges_of_existing_blobs(
    target: FuzzTarget, digest: str, method: str, range_header: str, auth: Auth
) -> None:
    headers = [*target.auth_headers(auth, "registry", CONTENT_REPO)]
    headers.append((b"Range", header_bytes(range_header)))
    target.send(method, f"/v2/{CONTENT_REPO}/blobs/{encode(digest)}", headers)


@fuzz_settings(examples=30)
@given(
    route=st.sampled_from(["tags", "tag", "repository"]),
    tag=st.one_of(st.sampled_from(["base", "latest"]), tags),
    method=st.sampled_from(["GET", "GET", "DELETE", "HEAD", "PUT"]),
    auth=auths(),
)
def test_v1_on_a_repository_with_content(
    target: FuzzTarget, route: str, tag: str, method: str, auth: Auth
) -> None:
    """The v1 endpoints where there is something to list or delete (the seed puts it back
    before the next test)."""
    path = {
        "tags": f"/v1/repositories/{CONTENT_REPO}/tags",
        "tag": f"/v1/repositories/{CONTENT_REPO}/tags/{encode(tag)}",
        "repository": f"/v1/repositories/{CONTENT_REPO}/",
    }[route]
    target.send(method, path, target.auth_headers(auth, "registry", CONTENT_REPO))


@fuzz_settings(examples=50)
@given(
    route=st.sampled_from(["/v2/_catalog", f"/v2/{CONTENT_REPO}/tags/list"]),
    n=numbers,
    last=st.one_of(st.none(), tags, odd_text),
    auth=auths(),
)
def test_pagination_of_catalog_and_tags(
    target: FuzzTarget, route: str, n: str, last: str | None, auth: Auth
) -> None:
    query = f"?n={encode(n)}" + ("" if last is None else f"&last={encode(last)}")
    repository = None if route == "/v2/_catalog" else CONTENT_REPO
    target.send("GET", route + query, target.auth_headers(auth, "registry", repository))


@fuzz_settings(examples=50)
@given(
    q=st.one_of(st.none(), names, odd_text),
    n=st.one_of(st.none(), numbers),
    page=st.one_of(st.none(), numbers),
    auth=auths(),
)
def test_search(
    target: FuzzTarget, q: str | None, n: str | None, page: str | None, auth: Auth
) -> None:
    """`docker search`'s request: any text, page size and page number, with any credentials;
    a registry without an index answers 404."""
    pairs = [
        (key, value) for key, value in (("q", q), ("n", n), ("page", page)) if value is not None
    ]
    query = "&".join(f"{key}={encode(value)}" for key, value in pairs)
    target.send("GET", f"/v1/search?{query}", target.auth_headers(auth, "registry", None))
