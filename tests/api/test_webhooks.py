"""Webhooks over real sockets: a push sends Docker Hub's payload, signed, to a receiver the
test runs; failures are retried and recorded, a hook that keeps failing is switched off and
says why; redelivery by hand; who may manage hooks; URLs into the server's own network are
refused unless the configuration allows them; with two processes each delivery is sent once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.support.images import make_image, push_image, sha256
from tests.support.index import ADMIN_PASSWORD, IndexServer, index_server
from tests.support.mirrors import Answer, bad_upstream
from tests.support.postgres import backend_env
from tests.support.waiting import eventually
from tests.support.webhook_receiver import webhook_receiver

ADMIN = ("admin", ADMIN_PASSWORD)
ALICE = ("alice", "alice-pw-1")
BOB = ("bob", "bob-pw-1")
# Small numbers so that retries and giving up happen within a test.
FAST = {
    "DOCKYARD_INDEX__WEBHOOKS__ALLOW": '["127.0.0.1"]',
    "DOCKYARD_INDEX__WEBHOOKS__TIMEOUT": "2",
    "DOCKYARD_INDEX__WEBHOOKS__BACKOFF": "0.2",
    "DOCKYARD_INDEX__WEBHOOKS__MAX_BACKOFF": "0.5",
    "DOCKYARD_INDEX__WEBHOOKS__MAX_ATTEMPTS": "3",
    "DOCKYARD_INDEX__WEBHOOKS__DISABLE_AFTER": "2",
}


@contextmanager
def webhook_index(
    backend: str,
    request: pytest.FixtureRequest,
    data: Path,
    env: dict[str, str] | None = None,
) -> Iterator[IndexServer]:
    with ExitStack() as stack:
        database = stack.enter_context(backend_env(backend, request))
        index = stack.enter_context(index_server(data, {**database, **(env or {})}))
        with index.api() as api:
            for user, password in (ALICE, BOB):
                body = {"username": user, "email": f"{user}@example.com", "password": password}
                assert api.post("/api/users", json=body).status_code == 201
        yield index


@pytest.fixture(scope="module")
def index(
    database_backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[IndexServer]:
    data = tmp_path_factory.mktemp(f"webhooks-{database_backend}") / "data"
    with webhook_index(database_backend, request, data, FAST) as server:
        yield server


@pytest.fixture(scope="module")
def strict(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[IndexServer]:
    """A server with no allow-list: the default."""
    data = tmp_path_factory.mktemp("webhooks-strict") / "data"
    with webhook_index("sqlite", request, data) as server:
        yield server


def create_hook(
    index: IndexServer, where: str, url: str, credentials: Any = ALICE, **fields: Any
) -> dict[str, Any]:
    with index.api(credentials) as api:
        response = api.post(f"{where}/webhooks", json={"url": url, **fields})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def push(index: IndexServer, name: str, tag: str, credentials: Any = ALICE) -> str:
    with index.registry(credentials, f"repository:{name}:pull,push") as registry:
        return push_image(registry, name, make_image(f"{name}-{tag}"), tag)


def deliveries(index: IndexServer, hook: str, credentials: Any = ALICE) -> list[dict[str, Any]]:
    with index.api(credentials) as api:
        response = api.get(f"{hook}/deliveries", params={"per_page": 100})
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["results"]
    return found


def settled(index: IndexServer, hook: str, count: int) -> list[dict[str, Any]]:
    """The hook's deliveries once `count` of them are no longer pending."""

    def done() -> list[dict[str, Any]] | None:
        found = deliveries(index, hook)
        finished = [d for d in found if d["state"] != "pending"]
        return found if len(finished) >= count else None

    return eventually(done, seconds=60, what=f"{count} deliveries settled")


def test_a_push_sends_a_signed_docker_hub_payload(index: IndexServer) -> None:
    name = "alice/hooked"
    with webhook_receiver() as receiver:
        hook = create_hook(index, f"/api/repositories/{name}", receiver.url, name="ci")
        assert hook["secret"] and hook["events"] == ["push"] and hook["active"]
        digest = push(index, name, "v1")
        (call,) = receiver.wait_for(1)
        assert call.signed_by(hook["secret"])
        assert not call.signed_by(hook["secret"] + "x")
        assert call.headers["X-Dockyard-Event"] == "push"
        assert call.headers["Content-Type"] == "application/json"
        payload = call.payload
        assert payload["push_data"]["tag"] == "v1"
        assert payload["push_data"]["pusher"] == "alice"
        assert payload["push_data"]["images"] == [digest]
        assert isinstance(payload["push_data"]["pushed_at"], int)
        repository = payload["repository"]
        assert repository["repo_name"] == name
        assert (repository["namespace"], repository["name"], repository["owner"]) == (
            "alice",
            "hooked",
            "alice",
        )
        assert repository["status"] == "Active"
        assert repository["is_private"] is False and repository["is_official"] is False
        assert isinstance(repository["date_created"], int)
        assert {"star_count", "description", "repo_url", "comment_count"} <= set(repository)
        assert payload["callback_url"].endswith(f"/api/repositories/{name}/webhooks/{hook['id']}")

        hook_path = f"/api/repositories/{name}/webhooks/{hook['id']}"
        (delivery,) = settled(index, hook_path, 1)
        assert delivery["state"] == "delivered"
        assert call.headers["X-Dockyard-Delivery"] == str(delivery["id"])
        assert delivery["payload"].encode() == call.body
        (attempt,) = delivery["history"]
        assert attempt["status_code"] == 200 and attempt["response"] == '{"ok": true}'
        # The secret is shown once, at creation.
        with index.api(ALICE) as api:
            shown = api.get(hook_path).json()
        assert shown["secret"] is None and shown["url"] == receiver.url


def test_an_organisation_hook_hears_every_repository_of_the_organisation(
    index: IndexServer,
) -> None:
    with index.api(ALICE) as api:
        assert api.post("/api/orgs", json={"name": "hookorg"}).status_code == 201
    with webhook_receiver() as receiver:
        hook = create_hook(index, "/api/orgs/hookorg", receiver.url)
        push(index, "hookorg/one", "a")
        push(index, "hookorg/two", "b")
        calls = receiver.wait_for(2)
        assert sorted(c.payload["repository"]["repo_name"] for c in calls) == [
            "hookorg/one",
            "hookorg/two",
        ]
        assert all(c.signed_by(hook["secret"]) for c in calls)
        assert all(
            c.payload["callback_url"].endswith(f"/api/orgs/hookorg/webhooks/{hook['id']}")
            for c in calls
        )
    with index.api(BOB) as api:  # not a member: the organisation's hooks are not there
        assert api.get("/api/orgs/hookorg/webhooks").status_code == 404


def test_only_hooks_that_ask_for_deletes_hear_of_them(index: IndexServer) -> None:
    name = "alice/deleting"
    with webhook_receiver() as pushes, webhook_receiver() as both:
        where = f"/api/repositories/{name}"
        create_hook(index, where, pushes.url)
        create_hook(index, where, both.url, events=["push", "delete"])
        digest = push(index, name, "gone")
        pushes.wait_for(1)
        both.wait_for(1)
        with index.registry(ALICE, f"repository:{name}:pull,push,delete") as registry:
            assert registry.delete(f"/v2/{name}/manifests/{digest}").status_code == 202
        calls = both.wait_for(2)
        deleted = calls[1]
        assert deleted.headers["X-Dockyard-Event"] == "delete"
        assert deleted.payload["delete_data"]["digest"] == digest
        assert deleted.payload["repository"]["repo_name"] == name
        assert len(pushes.received()) == 1


def test_failures_are_retried_recorded_and_a_failing_hook_is_switched_off(
    index: IndexServer,
) -> None:
    name = "alice/failing"
    # Two deliveries of three attempts each fail; what comes after is accepted.
    with webhook_receiver(script=[500] * 6) as receiver:
        hook = create_hook(index, f"/api/repositories/{name}", receiver.url)
        path = f"/api/repositories/{name}/webhooks/{hook['id']}"
        push(index, name, "one")
        push(index, name, "two")
        found = settled(index, path, 2)
        assert [d["state"] for d in found] == ["failed", "failed"]
        for delivery in found:
            assert [a["status_code"] for a in delivery["history"]] == [500, 500, 500]
            assert all("receiver says no" in a["response"] for a in delivery["history"])
        with index.api(ALICE) as api:
            switched = api.get(path).json()
        assert switched["active"] is False and switched["failures_in_a_row"] == 2
        assert "2 deliveries in a row failed" in switched["disabled_reason"]
        assert "HTTP 500" in switched["disabled_reason"]

        # Not while it is off; switched on, a redelivery starts a new series that succeeds.
        with index.api(ALICE) as api:
            first = found[-1]["id"]
            again = f"{path}/deliveries/{first}/redeliver"
            assert api.post(again).status_code == 409
            on = api.patch(path, json={"active": True}).json()
            assert on["active"] and on["disabled_reason"] is None and on["failures_in_a_row"] == 0
            assert api.post(again).status_code == 202
            assert api.post(f"{path}/deliveries/99999/redeliver").status_code == 404

        def redelivered() -> dict[str, Any] | None:
            (shown,) = [d for d in deliveries(index, path) if d["id"] == first]
            return shown if shown["state"] == "delivered" else None

        shown = eventually(redelivered, seconds=60, what="the redelivery")
        assert [a["status_code"] for a in shown["history"]] == [500, 500, 500, 200]
        assert len(receiver.received()) == 7


def test_listings_are_paged_with_a_link_to_the_next(index: IndexServer) -> None:
    where = "/api/repositories/alice/paged"
    for number in range(3):
        create_hook(index, where, f"http://127.0.0.1:9/{number}")
    with index.api(ALICE) as api:
        first = api.get(f"{where}/webhooks", params={"per_page": 2})
        assert first.status_code == 200
        assert len(first.json()["results"]) == 2
        link = first.headers["Link"]
        assert link == f'<{where}/webhooks?page=2&per_page=2>; rel="next"'
        second = api.get(link[1 : link.index(">")])
        assert len(second.json()["results"]) == 1 and "Link" not in second.headers
        unbounded = api.get(f"{where}/webhooks")
        assert len(unbounded.json()["results"]) == 3
        assert api.get(f"{where}/webhooks", params={"per_page": 1000}).status_code == 400


def test_a_secret_is_shown_once_and_can_be_rotated(index: IndexServer) -> None:
    where = "/api/repositories/alice/rotating"
    hook = create_hook(index, where, "http://127.0.0.1:9/")
    path = f"{where}/webhooks/{hook['id']}"
    with index.api(ALICE) as api:
        listed = api.get(f"{where}/webhooks").json()["results"]
        assert [h["secret"] for h in listed] == [None]
        rotated = api.patch(path, json={"rotate_secret": True}).json()
        assert rotated["secret"] and rotated["secret"] != hook["secret"]
        assert api.get(path).json()["secret"] is None
        assert api.delete(path).status_code == 204
        assert api.get(path).status_code == 404


def test_only_administrators_with_their_password_manage_hooks(index: IndexServer) -> None:
    public, private = "alice/open-hooks", "alice/closed-hooks"
    hook = create_hook(index, f"/api/repositories/{public}", "http://127.0.0.1:9/")
    create_hook(index, f"/api/repositories/{private}", "http://127.0.0.1:9/")
    with index.api(ALICE) as api:
        assert api.patch(f"/api/repositories/{private}", json={"visibility": "private"}).is_success
        made = api.post("/api/tokens", json={"name": "hooks", "scopes": ["read"]})
        assert made.status_code == 201, made.text
        token = made.json()["token"]
        robot = api.post(
            "/api/tokens", json={"name": "ci", "scopes": ["read", "write"], "robot": True}
        )
        robot_login = (robot.json()["login"], robot.json()["token"])
    body = {"url": "http://127.0.0.1:9/"}
    with index.api(BOB) as bob:
        assert bob.get(f"/api/repositories/{private}/webhooks").status_code == 404
        assert bob.post(f"/api/repositories/{private}/webhooks", json=body).status_code == 404
        assert bob.get(f"/api/repositories/{public}/webhooks").status_code == 403
        assert (
            bob.get(f"/api/repositories/{public}/webhooks/{hook['id']}/deliveries").status_code
            == 403
        )
        assert bob.post("/api/repositories/bob/x/webhooks", json=body).status_code == 201
    with index.api() as anonymous:
        assert anonymous.get(f"/api/repositories/{public}/webhooks").status_code == 401
    for credentials in (("alice", token), robot_login):
        with index.api(credentials) as api:
            answer = api.post(f"/api/repositories/{public}/webhooks", json=body)
            assert answer.status_code == 403, answer.text
            path = f"/api/repositories/{public}/webhooks/{hook['id']}"
            assert api.delete(path).status_code in (403, 404)
    with index.api(ADMIN) as admin:  # site administrators administer everything
        assert admin.get(f"/api/repositories/{public}/webhooks").status_code == 200


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/hook",
        "http://[::1]:8080/hook",
        "http://localhost:8080/hook",
        "http://0.0.0.0/hook",
        "http://[::ffff:127.0.0.1]/hook",
    ],
)
def test_hooks_into_the_servers_own_network_are_refused(strict: IndexServer, url: str) -> None:
    with strict.api(ALICE) as api:
        answer = api.post("/api/repositories/alice/ssrf/webhooks", json={"url": url})
    assert answer.status_code == 400, answer.text
    assert "url refused" in answer.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    "url", ["ftp://example.com/", "http://user:pw@example.com/", "http:///nohost", "not a url"]
)
def test_urls_that_are_not_plain_http_are_refused(strict: IndexServer, url: str) -> None:
    with strict.api(ALICE) as api:
        answer = api.post("/api/repositories/alice/ssrf/webhooks", json={"url": url})
    assert answer.status_code == 400, answer.text


def test_the_address_is_checked_again_at_each_attempt(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """A hook made while its host was allowed is refused once it is not (as when a name comes
    to resolve to an internal address): the attempt is recorded, nothing is sent."""
    data = tmp_path / "data"
    name = "alice/rechecked"
    with webhook_receiver() as receiver:
        with webhook_index("sqlite", request, data, FAST) as index:
            hook = create_hook(index, f"/api/repositories/{name}", receiver.url)
        closed = {**FAST, "DOCKYARD_INDEX__WEBHOOKS__ALLOW": "[]"}
        with index_server(data, closed) as index:
            push(index, name, "v1")
            path = f"/api/repositories/{name}/webhooks/{hook['id']}"
            (delivery,) = settled(index, path, 1)
        assert delivery["state"] == "failed"
        assert all(a["error"].startswith("refused:") for a in delivery["history"])
        assert receiver.received() == []


def test_with_two_processes_each_delivery_is_sent_once(
    database_backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    env = {**FAST, "DOCKYARD_HTTP__WORKERS": "2"}
    name = "alice/twice"
    with (
        webhook_receiver() as receiver,
        webhook_index(database_backend, request, tmp_path / "data", env) as index,
    ):
        hook = create_hook(index, f"/api/repositories/{name}", receiver.url)
        tags = [f"t{number}" for number in range(8)]
        for tag in tags:
            push(index, name, tag)
        path = f"/api/repositories/{name}/webhooks/{hook['id']}"
        found = settled(index, path, len(tags))
        assert all(d["state"] == "delivered" and len(d["history"]) == 1 for d in found)
        calls = receiver.received()
        assert sorted(c.payload["push_data"]["tag"] for c in calls) == sorted(tags)
        assert len({c.headers["X-Dockyard-Delivery"] for c in calls}) == len(tags)


def test_a_blob_delete_is_no_delete_a_hook_hears_of(index: IndexServer) -> None:
    name = "alice/blob-deletes"
    image = make_image(name)
    with webhook_receiver() as both:
        create_hook(index, f"/api/repositories/{name}", both.url, events=["push", "delete"])
        with index.registry(ALICE, f"repository:{name}:pull,push,delete") as registry:
            digest = push_image(registry, name, image, "v1")
            both.wait_for(1)
            layer = sha256(image.layers[0])
            assert registry.delete(f"/v2/{name}/blobs/{layer}").status_code == 202
            assert registry.delete(f"/v2/{name}/manifests/{digest}").status_code == 202
        calls = both.wait_for(2)
        time.sleep(1)  # a blob's delete, recorded before the manifest's, would be here by now
        deletes = [c.payload["delete_data"] for c in both.received() if "delete_data" in c.payload]
    assert [d["digest"] for d in deletes] == [digest]
    assert calls[0].headers["X-Dockyard-Event"] == "push"


def test_pushes_other_registries_report_reach_the_hooks(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    secret = "remote-events-secret"
    env = {**FAST, "DOCKYARD_INDEX__EVENTS__SECRET": secret}
    name = "alice/from-elsewhere"
    digest = "sha256:" + "ab" * 32
    event = {
        "id": "3b0c9d4e-remote-push",
        "timestamp": "2026-12-02T04:00:00.000000000Z",
        "action": "push",
        "target": {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": digest,
            "repository": name,
            "tag": "v7",
        },
        "actor": {"name": "alice"},
    }
    with ExitStack() as stack:
        index = stack.enter_context(webhook_index("sqlite", request, tmp_path / "data", env))
        hooked = stack.enter_context(webhook_receiver())
        create_hook(index, f"/api/repositories/{name}", hooked.url)
        headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
        with index.api() as api:
            answer = api.post("/api/events", json={"events": [event]}, headers=headers)
        assert answer.status_code == 202, answer.text
        (call,) = hooked.wait_for(1)
    assert call.payload["push_data"]["tag"] == "v7"
    assert call.payload["push_data"]["pusher"] == "alice"
    assert call.payload["repository"]["repo_name"] == name


def test_a_repository_has_at_most_twenty_hooks(index: IndexServer) -> None:
    where = "/api/repositories/alice/many-hooks"
    for _ in range(20):
        create_hook(index, where, "http://127.0.0.1:9/never-called")
    with index.api(ALICE) as api:
        refused = api.post(f"{where}/webhooks", json={"url": "http://127.0.0.1:9/one-more"})
        assert refused.status_code == 409
        assert "the most it may have (index.webhooks.max_per_owner)" in refused.text
        assert len(api.get(f"{where}/webhooks", params={"per_page": 100}).json()["results"]) == 20


def test_a_hook_slow_to_answer_holds_up_no_other(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    # Two attempts at once in all, each may take 300 s: the slow hook's three deliveries
    # take one place, one after the other, and leave the other place to the quick hook.
    env = {
        **FAST,
        "DOCKYARD_INDEX__WEBHOOKS__TIMEOUT": "300",
        "DOCKYARD_INDEX__WEBHOOKS__PARALLEL": "2",
    }
    endless = Answer(200, pieces=(b"x",) * 100_000, pause=0.5)  # a byte every half second
    with (
        bad_upstream({("POST", "/hook"): endless}) as stuck,
        webhook_receiver() as receiver,
        webhook_index("sqlite", request, tmp_path / "data", env) as index,
    ):
        create_hook(index, "/api/repositories/alice/slow", f"http://{stuck}/hook")
        for tag in ("one", "two", "three"):
            push(index, "alice/slow", tag)
        create_hook(index, "/api/repositories/alice/quick", receiver.url)
        push(index, "alice/quick", "one")
        assert receiver.wait_for(1)[0].payload["repository"]["repo_name"] == "alice/quick"
