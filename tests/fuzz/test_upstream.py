"""Fuzzing what Dockyard is told by other registries: a hostile upstream answers each request
with a status, headers and body drawn around the right answer (wrong or odd digests, lengths
that lie, challenges and token answers that make no sense, redirects anywhere, manifests that
are not what their media type says). Half of the answers are right, so that later requests
are reached.

- The client library (what `dockyard pull` and `push`, mirrors and replication use), pulling
  and pushing, may only fail with its own `RegistryError`: a mirror turns exactly those into
  502/503 answers, the command line into one line and exit 1. What it returns, and what it
  writes to a layout, is verified against its digest.
- A mirror in front of the upstream answers the verified content, or an error in the
  registry's shape: 4xx, or 502/503/504 for the upstream's fault, never another 5xx; what it
  kept is what its digest says; its log holds no traceback (tests/conftest.py)."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockyard import client
from dockyard.client.inspection import inspect
from dockyard.client.layout import OciLayout
from dockyard.client.transfer import LayoutEnd, RegistryEnd, transfer
from dockyard.oci.digest import Digest
from tests.fuzz.checks import check_error_body
from tests.fuzz.profile import fuzz_settings
from tests.fuzz.strategies import Draw, image_indexes, image_manifests, json_bytes, json_values
from tests.fuzz.strategies import odd_text as any_text
from tests.fuzz.wire import Answer as Received
from tests.support.images import OCI_CONFIG, OCI_INDEX, OCI_LAYER, OCI_MANIFEST
from tests.support.mirrors import Answer, bad_upstream, mirror_env, upstream
from tests.support.servers import DockyardServer, dockyard_server


def _descriptor(media_type: str, body: bytes, **more: Any) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": str(Digest.of(body)), "size": len(body), **more}


@dataclass(frozen=True)
class Content:
    """An image of one layer under the tag `v1`, as an index of one platform; its own bytes
    for each example, so that nothing a mirror cached before stands in for it."""

    name: str
    config: bytes
    layer: bytes
    image: bytes
    index: bytes

    @classmethod
    def of(cls, name: str) -> Content:
        config = json.dumps({"architecture": "amd64", "os": "linux", "name": name}).encode()
        layer = name.encode() * 20
        image = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": _descriptor(OCI_CONFIG, config),
                "layers": [_descriptor(OCI_LAYER, layer)],
            }
        ).encode()
        platform = {"os": "linux", "architecture": "amd64"}
        index = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": OCI_INDEX,
                "manifests": [_descriptor(OCI_MANIFEST, image, platform=platform)],
            }
        ).encode()
        return cls(name, config, layer, image, index)

    @property
    def pushed(self) -> bytes:
        """A blob the upstream does not hold yet: pushed to it."""
        return self.name.encode() * 7

    @property
    def digests(self) -> tuple[Digest, Digest, Digest, Digest]:
        """The index's, the image's, the config's and the layer's."""
        index, image, config, layer = (
            Digest.of(body) for body in (self.index, self.image, self.config, self.layer)
        )
        return index, image, config, layer


EMPTY_REFERRERS = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}).encode()
# The upstream's account for this Dockyard (sent as Basic, or to the token realm).
ACCOUNT = client.Credential("mirror", "secret")
STATUSES = st.one_of(
    st.sampled_from([200, 201, 204, 206, 301, 302, 307, 308, 400, 401, 403, 404, 405, 416, 429,
                     500, 502, 503]),
    st.integers(100, 599),
)  # fmt: skip
NAMES = itertools.count()
UPLOAD = "fuzz-upload"  # the id of every upload session the upstream opens


def _header_text(text: str) -> str:
    return text.replace("\r", " ").replace("\n", " ")


def _header_values(address: str, content: Content) -> dict[str, st.SearchStrategy[str]]:
    """What the upstream may say in each header it sends."""
    token, v2 = f"http://{address}/token", f"/v2/{content.name}"
    _, image, config, layer = content.digests
    anything = any_text.map(_header_text)
    return {
        "Content-Type": st.one_of(
            st.sampled_from(
                [
                    OCI_MANIFEST,
                    OCI_INDEX,
                    OCI_CONFIG,
                    "application/json",
                    "text/html",
                    "",
                    f"{OCI_MANIFEST}; charset=utf-8",
                ]
            ),
            anything,
        ),
        "Docker-Content-Digest": st.one_of(
            st.sampled_from([str(digest) for digest in content.digests]),
            st.sampled_from(["sha256:xyz", "", "md5:abc", f"sha512:{'0' * 128}"]),
            anything,
        ),
        "WWW-Authenticate": st.one_of(
            st.sampled_from(
                [
                    f'Bearer realm="{token}",service="up",scope="repository:{content.name}:pull"',
                    f'Bearer realm="{token}?x=1"',
                    'Bearer realm="http://127.0.0.1:1/token"',
                    'Bearer realm="ftp://up/token"',
                    'Bearer realm="http://[::1"',
                    'Bearer realm=""',
                    'Bearer realm="/token"',
                    'Bearer realm="http://127.0.0.1:99999/token"',
                    "Bearer",
                    'Basic realm="up"',
                    "Negotiate",
                    "",
                    f'Basic realm="up", Bearer realm="{token}"',
                ]
            ),
            anything,
        ),
        "Location": st.one_of(
            st.sampled_from(
                [
                    f"http://{address}{v2}/blobs/{layer}",
                    f"{v2}/blobs/{config}",
                    f"{v2}/manifests/{image}",
                    f"{v2}/blobs/uploads/{UPLOAD}",
                    f"{v2}/blobs/uploads/{UPLOAD}?state=x",
                    "http://[::1",
                    "http://127.0.0.1:99999/x",
                    f"http://{address}/elsewhere",
                    "http://127.0.0.1:1/x",
                    "ftp://up/x",
                    "http://[bad",
                    "",
                    "//127.0.0.1:1/x",
                ]
            ),
            anything,
        ),
        "Retry-After": st.sampled_from(
            ["0", "1", "-1", "soon", "99999999999999999999", "Wed, 21 Oct 2015 07:28:00 GMT"]
        ),
        "Link": st.one_of(
            st.sampled_from(
                [
                    f'<{v2}/tags/list?last=a>; rel="next"',
                    f'<{v2}/tags/list>; rel="next"',
                    '<>; rel="next"',
                    '<http://127.0.0.1:1/x>; rel="next"',
                    "garbage",
                ]
            ),
            anything,
        ),
        "Content-Range": st.one_of(
            st.sampled_from(["bytes 0-9/10", "bytes */10", "0-1"]), anything
        ),
        "Range": st.one_of(
            st.sampled_from(["0-0", "0--1", "0-99999", "bytes=0-1", "5-2"]), anything
        ),
        "OCI-Filters-Applied": anything,
    }


@st.composite
def hostile(draw: Draw, right: Answer, address: str, content: Content) -> Answer:
    """The right answer half the time; otherwise another status, headers and body."""
    if draw(st.booleans()):
        return right
    status = draw(st.one_of(st.just(right.status), STATUSES))
    headers = dict(right.headers or {})
    for header, values in _header_values(address, content).items():
        choice = draw(st.integers(0, 5))
        if choice == 0:
            headers[header] = draw(values)
        elif choice == 1:
            headers.pop(header, None)
    body = b"".join(right.pieces)
    body = draw(
        st.one_of(
            st.just(body),
            st.integers(0, max(0, len(body) - 1)).map(lambda k: body[:k]),
            st.binary(min_size=1, max_size=64).map(lambda junk: body + junk),
            st.binary(max_size=300),
            json_bytes(st.one_of(image_manifests, image_indexes, json_values)),
        )
    )
    length = draw(st.one_of(st.none(), st.none(), st.just(-1), st.integers(0, len(body) + 100)))
    return Answer(status, headers, (body,), length=length)


def _right(body: bytes, media_type: str, digest: Digest | None = None) -> Answer:
    headers = {"Content-Type": media_type}
    if digest is not None:
        headers["Docker-Content-Digest"] = str(digest)
    return Answer(200, headers, (body,))


def right_answers(content: Content) -> dict[tuple[str, str], Answer]:
    """What a good registry answers for `content`."""
    v2 = f"/v2/{content.name}"
    index, image, config, layer = content.digests
    tags = json.dumps({"name": content.name, "tags": ["v1"]}).encode()
    answers = {
        ("GET", "/v2/"): _right(b"{}", "application/json"),
        ("GET", "/token"): _right(b'{"token": "t", "expires_in": 300}', "application/json"),
        ("GET", f"{v2}/tags/list"): _right(tags, "application/json"),
        ("GET", f"{v2}/referrers/{image}"): _right(EMPTY_REFERRERS, OCI_INDEX),
    }
    pushed = Digest.of(content.pushed)
    upload = f"{v2}/blobs/uploads/{UPLOAD}"
    at_upload = {"Location": upload, "Docker-Upload-UUID": UPLOAD, "Range": "0-0"}
    answers |= {
        ("HEAD", f"{v2}/blobs/{pushed}"): Answer(404),
        ("POST", f"{v2}/blobs/uploads/"): Answer(202, at_upload),  # with ?mount= too
        ("PATCH", upload): Answer(202, {**at_upload, "Range": f"0-{len(content.pushed) - 1}"}),
        ("GET", upload): Answer(204, {**at_upload, "Range": f"0-{len(content.pushed) - 1}"}),
        ("PUT", upload): Answer(
            201, {"Location": f"{v2}/blobs/{pushed}", "Docker-Content-Digest": str(pushed)}
        ),
        ("PUT", f"{v2}/manifests/v2"): Answer(
            201, {"Location": f"{v2}/manifests/{image}", "Docker-Content-Digest": str(image)}
        ),
    }
    for path, answer in (
        (f"{v2}/manifests/v1", _right(content.index, OCI_INDEX, index)),
        (f"{v2}/manifests/{index}", _right(content.index, OCI_INDEX, index)),
        (f"{v2}/manifests/{image}", _right(content.image, OCI_MANIFEST, image)),
        (f"{v2}/blobs/{config}", _right(content.config, "application/octet-stream", config)),
        (f"{v2}/blobs/{layer}", _right(content.layer, "application/octet-stream", layer)),
    ):
        answers[("GET", path)] = answers[("HEAD", path)] = answer
    return answers


class HostileUpstream:
    """One upstream for the module; each example sets what it answers."""

    def __init__(self, address: str, answers: dict[tuple[str, str], Answer]) -> None:
        self.address = address
        self.answers = answers

    def serve(self, data: st.DataObject, name: str) -> Content:
        """Answers drawn around the right ones for new content at `name`."""
        content = Content.of(name)
        drawn = {
            key: data.draw(hostile(right, self.address, content), label=f"{key[0]} {key[1]}")
            for key, right in right_answers(content).items()
        }
        self.answers.clear()
        self.answers.update(drawn)
        return content


@pytest.fixture(scope="module")
def hostile_upstream() -> Iterator[HostileUpstream]:
    answers: dict[tuple[str, str], Answer] = {}
    with bad_upstream(answers) as address:
        yield HostileUpstream(address, answers)


@pytest.fixture(scope="module")
def mirror(
    hostile_upstream: HostileUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DockyardServer]:
    rule = {
        "prefix": "hub",
        "upstreams": [
            upstream(f"http://{hostile_upstream.address}", ACCOUNT.username, ACCOUNT.password)
        ],
        "timeout_seconds": 2,
        "revalidate_seconds": 0,
        "retry_failed_after_seconds": 0,
    }
    data = tmp_path_factory.mktemp("fuzz-mirror") / "data"
    with dockyard_server(data, env=mirror_env(rule)) as server:
        yield server


Call = Callable[[], Awaitable[object]]


async def _expect_registry_errors(calls: dict[str, Call]) -> None:
    """Each call returns or raises the client's RegistryError; anything else fails."""
    for what, call in calls.items():
        try:
            await call()
        except client.RegistryError:
            pass
        except Exception as exc:
            raise AssertionError(f"{what}: {type(exc).__name__}: {exc}") from exc


def _verified(body: bytes, digest: Digest | str) -> None:
    digest = Digest.parse(str(digest))
    assert Digest.of(body, digest.algorithm) == digest, f"{digest} returned other bytes"


@fuzz_settings(examples=20, long_share=0.05)
@given(data=st.data())
def test_the_client_fails_on_any_upstream_answer_only_with_its_registry_errors(
    hostile_upstream: HostileUpstream, tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    content = hostile_upstream.serve(data, f"fuzz/client{next(NAMES):08d}")
    _, image, config, layer = content.digests
    host = hostile_upstream.address
    work = tmp_path_factory.mktemp("client")

    async def main() -> None:
        retry = client.RetryPolicy(attempts=2, base_delay=0.001, max_delay=0.01, max_retry_after=0)
        options = {host: client.HostOptions(insecure=True)}
        credentials = client.StaticCredentials({host: ACCOUNT})
        async with client.RegistryClient(credentials, options, retry) as registry_client:
            registry_client.transport.timeout = httpx.Timeout(1.0)
            registry = registry_client.registry(host)
            repository = registry.repository(content.name)

            async def manifest(reference: str | Digest) -> None:
                found = await repository.manifest(reference)
                _verified(found.body, found.digest)
                assert not isinstance(reference, Digest) or found.digest == reference

            async def blob(digest: Digest) -> None:
                _verified(await repository.blob_bytes(digest), digest)

            async def blob_file(digest: Digest) -> None:
                await repository.blob_to_file(digest, work / "blob")
                _verified((work / "blob").read_bytes(), digest)

            async def tags() -> None:
                [tag async for tag in repository.tags()]

            async def push(chunk_size: int | None) -> None:
                await repository.push_blob(content.pushed, chunk_size=chunk_size)

            async def copy() -> None:
                layout = OciLayout.create(work / "layout")
                await transfer(RegistryEnd(repository), "v1", LayoutEnd(layout), "v1")

            platform = client.Platform("linux", "amd64")
            await _expect_registry_errors(
                {
                    "ping": registry.ping,
                    "login": registry.login,
                    "manifest by tag": lambda: manifest("v1"),
                    "manifest by digest": lambda: manifest(image),
                    "head manifest": lambda: repository.head_manifest("v1"),
                    "blob": lambda: blob(config),
                    "blob to a file": lambda: blob_file(layer),
                    "blob exists": lambda: repository.blob_exists(layer),
                    "tags": tags,
                    "referrers": lambda: repository.referrers(image),
                    "inspect": lambda: inspect(repository, "v1", platform),
                    "copy to a layout": copy,
                    "push a blob": lambda: push(None),
                    "push a blob in chunks": lambda: push(len(content.pushed) // 3),
                    "mount a blob": lambda: repository.mount_blob(config, "fuzz/other"),
                    "push a manifest": lambda: repository.put_manifest(
                        content.image, OCI_MANIFEST, "v2"
                    ),
                }
            )

    asyncio.run(main())
    # Whatever the copy kept is what its name says (a `.partial` download is resumed later).
    for path in (work / "layout" / "blobs").rglob("*"):
        if path.is_file() and path.suffix != ".partial":
            _verified(path.read_bytes(), f"{path.parent.name}:{path.name}")


@fuzz_settings(examples=12, long_share=0.05)
@given(data=st.data())
def test_a_mirror_answers_any_upstream_with_verified_content_or_a_gateway_error(
    hostile_upstream: HostileUpstream, mirror: DockyardServer, data: st.DataObject
) -> None:
    content = hostile_upstream.serve(data, f"fuzz/mirror{next(NAMES):08d}")
    _, image, config, layer = content.digests
    local = f"/v2/hub/{content.name}"
    requests = [
        ("GET", f"{local}/manifests/v1"),
        ("HEAD", f"{local}/manifests/v1"),
        ("GET", f"{local}/manifests/{image}"),
        ("GET", f"{local}/blobs/{config}"),
        ("HEAD", f"{local}/blobs/{layer}"),
        ("GET", f"{local}/blobs/{layer}"),
        ("GET", f"{local}/tags/list"),
        ("GET", f"{local}/referrers/{image}"),
    ]
    accept = {"Accept": f"{OCI_INDEX}, {OCI_MANIFEST}"}
    with httpx.Client(base_url=mirror.url, timeout=60) as http:
        for method, path in requests:
            answer = http.request(method, path, headers=accept)
            received = Received(
                method, path, answer.status_code, dict(answer.headers), answer.content
            )
            status = answer.status_code
            assert status < 500 or status in (502, 503, 504), received.describe()
            if status >= 400:
                check_error_body(received)
            elif method == "HEAD":
                assert not answer.content, received.describe()
            elif "/blobs/" in path or "/manifests/sha256:" in path:
                _verified(answer.content, path.rsplit("/", 1)[1])
            elif "/manifests/" in path:
                _verified(answer.content, answer.headers["docker-content-digest"])
        # What the mirror kept is what its digest says.
        for digest in (config, layer):
            answer = http.get(f"{local}/blobs/{digest}")
            if answer.status_code == 200:
                _verified(answer.content, digest)
