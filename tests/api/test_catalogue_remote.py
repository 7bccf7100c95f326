"""An index in front of another registry (scenario E): CNCF Distribution 2.8 (Debian's
`docker-registry`) takes Dockyard's tokens and sends its events to Dockyard's `POST /api/events`;
what is pushed to it becomes searchable in Dockyard, with its tags' sizes and platforms read
back from Distribution with pull tokens the index signs itself. And /api/events refuses what is
not a registry's envelope with its secret, in the one error shape."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import psycopg
import pytest
from sqlalchemy.engine import make_url

from dockyard.auth.keys import generated_key_paths, load_or_generate_signing_key
from dockyard.index.catalogue import remote
from dockyard.index.catalogue.remote import HttpContent, PullTokens
from dockyard.registry.events.local import NotNow
from tests.support.api import assert_error, assert_status
from tests.support.auth import bearer
from tests.support.distribution import Distribution, distribution_server
from tests.support.images import Image, make_image, sha256
from tests.support.index import ADMIN_PASSWORD, SERVICE, Credentials, IndexServer, index_server
from tests.support.mirrors import Answer, bad_upstream
from tests.support.postgres import PostgresServer, backend_env
from tests.support.servers import DockyardServer, free_port, spawn_dockyard, wait_until_answers
from tests.support.waiting import eventually

SECRET = "events-secret-7f3a"
ISSUER = "dockyard-hub-issuer"
ENVELOPE = "application/vnd.docker.distribution.events.v1+json"
OSCAR = ("oscar", "oscar-password-1")
# The catalogue applies events in the background; Distribution sends them after a push.
WAIT = 30.0


@dataclass
class ScenarioE:
    index: IndexServer  # Dockyard: the index, the token service and the events' receiver
    distribution: Distribution  # the registry the index runs in front of

    def events(self, body: bytes, **headers: str) -> httpx.Response:
        sent = {"Authorization": f"Bearer {SECRET}", "Content-Type": ENVELOPE, **headers}
        with self.index.api() as client:
            return client.post("/api/events", content=body, headers=sent)

    def registry(self, *scopes: str) -> httpx.Client:
        """A client of Distribution carrying oscar's token from Dockyard's /token."""
        token = self.index.token(OSCAR, *scopes)
        return httpx.Client(base_url=self.distribution.url, headers=bearer(token), timeout=30)

    def push(self, repository: str, image: Image, tag: str) -> None:
        with self.registry(f"repository:{repository}:pull,push") as client:
            for blob in (image.config, *image.layers):
                # POST, then PUT with the digest: Distribution 2.8 has no one-request upload.
                started = client.post(f"/v2/{repository}/blobs/uploads/")
                assert_status(started, 202)
                # Its Location holds state in the query: the digest is added to it.
                location = httpx.URL(started.headers["location"])
                done = client.put(location.copy_add_param("digest", sha256(blob)), content=blob)
                assert_status(done, 201)
            headers = {"Content-Type": image.media_type}
            path = f"/v2/{repository}/manifests/{tag}"
            assert_status(client.put(path, content=image.manifest, headers=headers), 201)

    def search(self, path: str, text: str, who: Credentials = None) -> list[str]:
        with self.index.api(who) as client:
            answer = client.get(path, params={"q": text})
        assert_status(answer, 200)
        return [result["name"] for result in answer.json()["results"]]

    def tags(self, repository: str, who: Credentials = None) -> list[dict[str, Any]]:
        with self.index.api(who) as client:
            answer = client.get(f"/api/repositories/{repository}/tags")
        if answer.status_code == 404:
            return []
        assert_status(answer, 200)
        results: list[dict[str, Any]] = answer.json()["results"]
        return results


@contextmanager
def index_on_port(data: Path, port: int, env: dict[str, str]) -> Iterator[IndexServer]:
    """tests.support.index's server, on a port chosen before it starts: Distribution's
    configuration names it."""
    settings = {"DOCKYARD_AUTH__MODE": "index", "DOCKYARD_ADMIN_PASSWORD": ADMIN_PASSWORD, **env}
    process, log = spawn_dockyard(data, port, env=settings)
    url = f"http://127.0.0.1:{port}"
    server = DockyardServer(url, f"127.0.0.1:{port}", data, log, process)
    try:
        wait_until_answers(f"{url}/v2/", process, log)
        yield IndexServer(server)
    finally:
        server.stop()
        server.log_check.done = True


def distribution_config(index_url: str, certificate: Path) -> str:
    """Token auth by Dockyard, and notifications to Dockyard: docs/operations.md's snippet."""
    return (
        "auth:\n"
        "  token:\n"
        f"    realm: {index_url}/token\n"
        f"    service: {SERVICE}\n"
        f"    issuer: {ISSUER}\n"
        f"    rootcertbundle: {certificate}\n"
        "notifications:\n"
        "  endpoints:\n"
        "    - name: dockyard\n"
        f"      url: {index_url}/api/events\n"
        f"      headers: {{Authorization: [Bearer {SECRET}]}}\n"
        "      timeout: 5s\n"
        "      threshold: 3\n"
        "      backoff: 1s\n"
    )


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScenarioE]:
    base = tmp_path_factory.mktemp("scenario-e")
    data = base / "dockyard" / "data"
    # The key Dockyard would generate at its first start, made now: Distribution trusts its
    # certificate from the start.
    load_or_generate_signing_key(data / "auth", ISSUER)
    certificate = generated_key_paths(data / "auth")[1]
    port = free_port()
    index_url = f"http://127.0.0.1:{port}"
    config = distribution_config(index_url, certificate)
    with distribution_server(base / "distribution", config) as distribution:
        env = {
            "DOCKYARD_AUTH__TOKEN__SERVICE": SERVICE,
            "DOCKYARD_AUTH__TOKEN__ISSUER": ISSUER,
            "DOCKYARD_INDEX__EVENTS__SECRET": SECRET,
            "DOCKYARD_INDEX__EVENTS__REGISTRY": distribution.url,
        }
        with index_on_port(data, port, env) as index:
            with index.api() as client:
                body = {"username": OSCAR[0], "email": "o@example.com", "password": OSCAR[1]}
                assert_status(client.post("/api/users", json=body), 201)
            yield ScenarioE(index, distribution)


def fresh_name(stem: str) -> str:
    return f"oscar/{stem}-{uuid.uuid4().hex[:10]}"


# --- What Distribution pushes becomes searchable -------------------------------------------


def test_a_push_to_distribution_appears_in_dockyards_search_with_size_and_platform(
    scenario: ScenarioE,
) -> None:
    name = fresh_name("pushed")
    image = make_image(name)
    scenario.push(name, image, "v1")

    text = name.split("/")[1]
    eventually(lambda: name in scenario.search("/v1/search", text), WAIT, "/v1/search lists it")
    assert scenario.search("/api/search", text) == [name]
    tags = eventually(lambda: scenario.tags(name), WAIT, "its tag in the catalogue")
    assert [(tag["name"], tag["digest"]) for tag in tags] == [("v1", image.digest)]
    expected_size = len(image.config) + sum(len(layer) for layer in image.layers)
    assert tags[0]["size"] == expected_size
    platforms = [(p["os"], p["architecture"]) for p in tags[0]["platforms"]]
    assert platforms == [("linux", "amd64")]
    assert tags[0]["pushed_by"] == "oscar"


def test_a_repository_made_private_leaves_anonymous_search(scenario: ScenarioE) -> None:
    name = fresh_name("private")
    scenario.push(name, make_image(name), "v1")
    text = name.split("/")[1]
    eventually(lambda: name in scenario.search("/v1/search", text), WAIT, "/v1/search lists it")

    with scenario.index.api(OSCAR) as client:
        change = client.patch(f"/api/repositories/{name}", json={"visibility": "private"})
    assert_status(change, 200)
    assert scenario.search("/v1/search", text) == []
    assert scenario.search("/api/search", text) == []
    assert scenario.search("/api/search", text, OSCAR) == [name]


def test_a_manifest_deleted_from_distribution_leaves_the_catalogue(scenario: ScenarioE) -> None:
    name = fresh_name("deleted")
    image = make_image(name)
    scenario.push(name, image, "v1")
    eventually(lambda: scenario.tags(name), WAIT, "its tag in the catalogue")

    with scenario.registry(f"repository:{name}:delete") as client:
        assert_status(client.delete(f"/v2/{name}/manifests/{image.digest}"), 202)
    eventually(lambda: scenario.tags(name) == [], WAIT, "its tag gone from the catalogue")


def test_an_event_for_what_distribution_does_not_hold_is_kept_without_a_size(
    scenario: ScenarioE,
) -> None:
    """Manifest unknown to the registry (deleted since, say): the tag is listed, unsized."""
    name = fresh_name("unheld")
    digest = sha256(name.encode())
    event = push_event(name, digest, "v9")
    answer = scenario.events(json.dumps({"events": [event]}).encode())
    assert_status(answer, 202)
    assert answer.json() == {"received": 1, "stored": 1}
    tags = eventually(lambda: scenario.tags(name), WAIT, "its tag in the catalogue")
    assert [(tag["name"], tag["digest"], tag["size"]) for tag in tags] == [("v9", digest, None)]


def test_blob_events_and_unreadable_events_are_answered_but_not_kept(scenario: ScenarioE) -> None:
    name = fresh_name("blobs")
    blob = {**push_event(name, sha256(b"layer"), None)}
    blob["target"] = {**blob["target"], "mediaType": "application/octet-stream"}
    odd = push_event("Not A Name", sha256(b"x"), "v1")
    envelope = {"events": [blob, odd, {"action": "push"}, {}]}
    answer = scenario.events(json.dumps(envelope).encode())
    assert_status(answer, 202)
    assert answer.json() == {"received": 4, "stored": 0}


def test_the_plain_json_media_type_is_taken_too(scenario: ScenarioE) -> None:
    answer = scenario.events(b'{"events": []}', **{"Content-Type": "application/json"})
    assert_status(answer, 202)


def push_event(repository: str, digest: str, tag: str | None) -> dict[str, Any]:
    target: dict[str, Any] = {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": digest,
        "size": 100,
        "repository": repository,
    }
    if tag is not None:
        target["tag"] = tag
    return {
        "id": str(uuid.uuid4()),
        "timestamp": "2026-12-01T10:00:00Z",
        "action": "push",
        "target": target,
        "actor": {"name": "oscar"},
    }


# --- What /api/events refuses ---------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-secret", f"Bearer {SECRET}x", f"Basic {SECRET}", SECRET, "Bearer"],
)
def test_events_without_the_secret_are_refused(
    scenario: ScenarioE, authorization: str | None
) -> None:
    headers = {"Content-Type": ENVELOPE}
    if authorization is not None:
        headers["Authorization"] = authorization
    with scenario.index.api() as client:
        answer = client.post("/api/events", content=b'{"events": []}', headers=headers)
    assert_error(answer, 401, "UNAUTHORIZED")
    assert answer.headers["www-authenticate"].startswith("Bearer ")


def test_events_with_the_admins_password_are_refused(scenario: ScenarioE) -> None:
    with scenario.index.api(("admin", ADMIN_PASSWORD)) as client:
        answer = client.post(
            "/api/events", content=b'{"events": []}', headers={"Content-Type": ENVELOPE}
        )
    assert_error(answer, 401, "UNAUTHORIZED")


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"\xff\xfe",
        b"[]",
        b'{"events": {}}',
        b'{"events": [1]}',
        b'{"events": [{}, "x"]}',
        b'{"other": []}',
        b'{"events": [' * 5000,
        b'{"events": [{"n": ' + b"9" * 5000 + b"}]}",
    ],
)
def test_bodies_that_are_no_envelope_are_refused(scenario: ScenarioE, body: bytes) -> None:
    assert_error(scenario.events(body), 400, "INVALID_REQUEST")


def test_a_body_over_four_mebibytes_is_refused(scenario: ScenarioE) -> None:
    padding = "x" * (4 * 1024 * 1024)
    body = json.dumps({"events": [], "padding": padding}).encode()
    assert_error(scenario.events(body), 413, "SIZE_INVALID")


@pytest.mark.parametrize("content_type", ["text/plain", "application/octet-stream", ""])
def test_other_media_types_are_refused(scenario: ScenarioE, content_type: str) -> None:
    answer = scenario.events(b'{"events": []}', **{"Content-Type": content_type})
    assert_error(answer, 415, "UNSUPPORTED")


def test_without_a_secret_the_endpoint_is_unknown_like_any_other(tmp_path: Path) -> None:
    with index_server(tmp_path / "data") as index, index.api() as client:
        headers = {"Authorization": f"Bearer {SECRET}", "Content-Type": ENVELOPE}
        events = client.post("/api/events", content=b'{"events": []}', headers=headers)
        unknown = client.post("/api/no-such-thing", content=b'{"events": []}', headers=headers)
    assert_error(events, 404, "NAME_UNKNOWN")
    assert (events.status_code, events.json()) == (unknown.status_code, unknown.json())


# --- HttpContent against a registry that answers as told (no server needed) -----------------


def content_over(handler: Callable[[httpx.Request], httpx.Response], tmp: Path) -> HttpContent:
    return HttpContent("http://registry.test", tokens_in(tmp), httpx.MockTransport(handler))


DIGEST = sha256(b"config")
CHALLENGE = 'Bearer realm="http://hub.test/token",service="reg",scope="repository:a/b:pull"'


def test_a_blob_sent_on_to_storage_is_read_there_without_the_token(tmp_path: Path) -> None:
    seen: list[tuple[str, str | None]] = []

    def registry(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.host, request.headers.get("authorization")))
        if request.url.host == "storage.test":
            return httpx.Response(200, content=b"config")
        if "authorization" not in request.headers:
            return httpx.Response(401, headers={"WWW-Authenticate": CHALLENGE})
        return httpx.Response(307, headers={"Location": "http://storage.test/signed?x=1"})

    content = content_over(registry, tmp_path)
    assert asyncio.run(content.blob("a/b", DIGEST, 1024)) == b"config"
    assert [host for host, _ in seen] == ["registry.test", "registry.test", "storage.test"]
    assert seen[1][1] is not None and seen[1][1].startswith("Bearer ")
    assert seen[2][1] is None


def test_the_pull_token_is_for_the_repository_and_the_challenges_service(tmp_path: Path) -> None:
    tokens: list[str] = []

    def registry(request: httpx.Request) -> httpx.Response:
        if "authorization" not in request.headers:
            return httpx.Response(401, headers={"WWW-Authenticate": CHALLENGE})
        tokens.append(request.headers["authorization"].removeprefix("Bearer "))
        return httpx.Response(200, content=b"config", headers={"Content-Type": "application/x"})

    content = content_over(registry, tmp_path)
    assert asyncio.run(content.manifest("a/b", DIGEST)) == ("application/x", b"config")
    claims = jwt.decode(tokens[0], options={"verify_signature": False})
    assert claims["aud"] == "reg" and claims["iss"] == ISSUER
    assert claims["access"] == [{"type": "repository", "name": "a/b", "actions": ["pull"]}]


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="r"'}),
        httpx.Response(503),
        httpx.Response(429),
    ],
)
def test_what_the_registry_cannot_answer_now_is_tried_again_later(
    tmp_path: Path, answer: httpx.Response
) -> None:
    content = content_over(lambda _request: answer, tmp_path)
    with pytest.raises(NotNow):
        asyncio.run(content.manifest("a/b", DIGEST))


def test_what_the_registry_does_not_hold_or_no_registry_is_nothing(tmp_path: Path) -> None:
    content = content_over(lambda _request: httpx.Response(404), tmp_path)
    assert asyncio.run(content.manifest("a/b", DIGEST)) is None
    assert asyncio.run(content.manifest("../escape", DIGEST)) is None
    assert asyncio.run(content.blob("a/b", "sha256:nothex", 10)) is None
    unset = HttpContent(None, content.tokens)
    assert asyncio.run(unset.manifest("a/b", DIGEST)) is None


def tokens_in(tmp: Path) -> PullTokens:
    return PullTokens(load_or_generate_signing_key(tmp / "key", ISSUER), ISSUER)


def test_what_is_not_what_its_digest_names_is_not_read(tmp_path: Path) -> None:
    other = sha256(b"other")
    answers = {
        ("GET", f"/v2/a/b/{kind}/{digest}"): Answer(
            200, {"Content-Type": "application/x"}, (b"config",)
        )
        for kind in ("manifests", "blobs")
        for digest in (DIGEST, other)
    }

    async def read(content: HttpContent) -> list[object]:
        return [
            await content.manifest("a/b", DIGEST),
            await content.blob("a/b", DIGEST, 1024),
            await content.manifest("a/b", other),
            await content.blob("a/b", other, 1024),
        ]

    with bad_upstream(answers) as address:
        found = asyncio.run(read(HttpContent(f"http://{address}", tokens_in(tmp_path))))
    assert found == [("application/x", b"config"), b"config", None, None]


def test_an_answer_that_never_ends_is_tried_again_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(remote, "TIMEOUT_SECONDS", 1.0)
    # A byte every half second: each read is within httpx's timeout, the whole never ends.
    endless = Answer(200, pieces=(b"x",) * 100_000, pause=0.5)
    with bad_upstream({("GET", f"/v2/a/b/manifests/{DIGEST}"): endless}) as address:
        content = HttpContent(f"http://{address}", tokens_in(tmp_path))
        with pytest.raises(NotNow, match="timed out after 1 s"):
            asyncio.run(content.manifest("a/b", DIGEST))


# --- The database away ----------------------------------------------------------------------


@contextmanager
def connections_refused(postgres: PostgresServer, database: str) -> Iterator[None]:
    """The database takes no connections, and those open are ended: what the server sees
    when PostgreSQL is away."""
    admin = postgres.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS false'.encode())
        connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
            (database,),
        )
        try:
            yield
        finally:
            connection.execute(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS true'.encode())


@contextmanager
def index_on_postgresql(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[ScenarioE, dict[str, str]]]:
    """An index taking events on PostgreSQL, with no registry to read (sizes stay unknown),
    and its database's environment."""
    env = {"DOCKYARD_INDEX__EVENTS__SECRET": SECRET}
    with (
        backend_env("postgresql", request) as database,
        index_server(tmp_path / "data", {**env, **database}) as index,
    ):
        yield ScenarioE(index, Distribution("http://127.0.0.1:9", "127.0.0.1:9")), database


@pytest.mark.tracebacks_expected  # the server's background tasks log the database's absence
def test_events_sent_while_the_database_is_away_are_refused_with_503_then_taken(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    with index_on_postgresql(request, tmp_path) as (scenario, database):
        index = scenario.index
        name = make_url(database["DOCKYARD_DATABASE__URL"]).database
        assert name is not None
        envelope = json.dumps({"events": [push_event("oscar/away", sha256(b"x"), "v1")]})
        with connections_refused(request.getfixturevalue("postgres"), name):
            answer = scenario.events(envelope.encode())
            assert_error(answer, 503, "UNAVAILABLE")
            assert answer.headers["retry-after"].isdigit()
        stored = eventually(
            lambda: scenario.events(envelope.encode()).status_code == 202, WAIT, "taken again"
        )
        assert stored
        with index.api(("admin", ADMIN_PASSWORD)) as client:
            eventually(
                lambda: client.get("/api/repositories/oscar/away/tags").status_code == 200,
                WAIT,
                "the event applied",
            )


def test_event_ids_a_column_cannot_take_are_replaced(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """On PostgreSQL, which refuses NULs and lone surrogates in text (a 500 before)."""
    with index_on_postgresql(request, tmp_path) as (scenario, _database):
        for number, odd in enumerate(["\ud8bc", "a\u0000b", "\u00e9t\u00e9"]):
            event = {**push_event(f"oscar/odd-{number}", sha256(b"x"), "v1"), "id": odd}
            body = json.dumps({"events": [event]}).encode()  # ASCII, the odd id escaped
            answer = scenario.events(body)
            assert_status(answer, 202)
            assert answer.json() == {"received": 1, "stored": 1}
