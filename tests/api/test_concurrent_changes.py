"""The same change sent many times at once (a form submitted twice, a script's retries, two
administrators) is made once, and each request is answered as if it had come alone: on
PostgreSQL, changes made as a look then a write, or as a delete then an insert, raced, and
all but the first failed on a key with a 500."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.support.api import assert_status
from tests.support.images import make_image, push_image
from tests.support.index import ADMIN_PASSWORD, IndexServer, index_on_backend
from tests.support.web import csrf_token, sign_up

ADMIN = ("admin", ADMIN_PASSWORD)
AT_ONCE = 12
CAP = 3
HOOK_CAP = {"DOCKYARD_INDEX__WEBHOOKS__MAX_PER_OWNER": str(CAP)}
ACCOUNT_CAPS = {
    f"DOCKYARD_INDEX__LIMITS__{setting}": str(CAP)
    for setting in ("TOKENS_PER_USER", "ORGANISATIONS_PER_USER", "TEAMS_PER_ORGANISATION")
}


@pytest.fixture(scope="module")
def index(
    database_backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[IndexServer]:
    hooks = {"DOCKYARD_INDEX__WEBHOOKS__ALLOW": '["127.0.0.1"]', **HOOK_CAP, **ACCOUNT_CAPS}
    with index_on_backend(database_backend, request, tmp_path_factory, "at-once", hooks) as server:
        with server.api() as anonymous:
            body = {"username": "dora", "email": "d@example.com", "password": "dora-password-1"}
            assert_status(anonymous.post("/api/users", json=body), 201)
        with server.api(ADMIN) as api:
            assert_status(api.post("/api/orgs", json={"name": "crew"}), 201)
        with server.registry(ADMIN, "repository:admin/busy:pull,push") as registry:
            push_image(registry, "admin/busy", make_image("at-once"), "v1")
        server.catalogued("admin/busy")
        yield server


# (method, path, body, what each answers, the GET that shows the change, what it shows)
CHANGES: dict[str, tuple[str, str, Any, set[int], str, Any]] = {
    "quota": (
        "PUT", "/api/namespaces/admin/quota", {"max_bytes": 10**9}, {200},
        "/api/namespaces/admin/quota", {"max_bytes": 10**9},
    ),
    "immutable tags": (
        "PUT", "/api/repositories/admin/busy/immutable-tags", {"patterns": ["v*", "rc-*"]},
        {200}, "/api/repositories/admin/busy/immutable-tags", {"patterns": ["rc-*", "v*"]},
    ),
    "retention": (
        "PUT", "/api/namespaces/admin/retention", {"keep_last": 5}, {200},
        "/api/namespaces/admin/retention", {"keep_last": 5},
    ),
    "collaborator": (
        "PUT", "/api/repositories/admin/busy/collaborators/users/dora", {"role": "write"},
        {204}, "/api/repositories/admin/busy/collaborators",
        [{"kind": "user", "name": "dora", "role": "write"}],
    ),
    "team": (
        "POST", "/api/orgs/crew/teams", {"name": "ops"}, {201, 409},
        "/api/orgs/crew/teams/ops/members", [],
    ),
}  # fmt: skip


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_one_change_sent_many_times_at_once_is_made_once(index: IndexServer, change: str) -> None:
    method, path, body, answers, shown_at, shown = CHANGES[change]

    def send(_: int) -> int:
        with index.api(ADMIN) as api:
            return api.request(method, path, json=body).status_code

    with ThreadPoolExecutor(AT_ONCE) as pool:
        statuses = list(pool.map(send, range(AT_ONCE)))
    assert set(statuses) <= answers, statuses
    if 201 in answers:  # made once, refused after
        assert sorted(statuses) == [201] + [409] * (AT_ONCE - 1)
    with index.api(ADMIN) as api:
        found = api.get(shown_at).json()
    if isinstance(shown, dict):
        found = {key: found[key] for key in shown}
    assert found == shown


def test_one_member_added_to_a_team_many_times_at_once_is_one_member(index: IndexServer) -> None:
    with index.api(ADMIN) as api:
        assert api.post("/api/orgs/crew/teams", json={"name": "devs"}).status_code == 201
    path = "/api/orgs/crew/teams/devs/members/dora"

    def add(_: int) -> int:
        with index.api(ADMIN) as api:
            return api.put(path).status_code

    with ThreadPoolExecutor(AT_ONCE) as pool:
        assert set(pool.map(add, range(AT_ONCE))) == {204}
    with index.api(ADMIN) as api:
        assert api.get("/api/orgs/crew/teams/devs/members").json() == ["dora"]
        members = {m["username"]: m["role"] for m in api.get("/api/orgs/crew/members").json()}
    assert members == {"admin": "owner", "dora": "member"}


@pytest.mark.parametrize("owner", ["/api/orgs/crew", "/api/repositories/admin/busy"])
def test_webhooks_made_many_at_once_stop_at_the_cap(index: IndexServer, owner: str) -> None:
    # Counted, then inserted: 12 at once on PostgreSQL made 5 hooks where 3 were the most.
    body = {"name": "hook", "url": "http://127.0.0.1:9/hook"}

    def create(_: int) -> int:
        with index.api(ADMIN) as api:
            return api.post(f"{owner}/webhooks", json=body).status_code

    with ThreadPoolExecutor(AT_ONCE) as pool:
        statuses = sorted(pool.map(create, range(AT_ONCE)))
    assert statuses == [201] * 3 + [409] * (AT_ONCE - 3)
    with index.api(ADMIN) as api:
        assert len(api.get(f"{owner}/webhooks").json()["results"]) == 3


# Where each is made, and where one made shows (200; 404 when it was not made).
MADE_BY_ONE_ACCOUNT = {
    "tokens": ("/api/tokens", "/api/tokens/{name}"),
    "organisations": ("/api/orgs", "/api/orgs/{name}/members"),
    "teams": ("/api/orgs/{user}-org/teams", "/api/orgs/{user}-org/teams/{name}/members"),
}


@pytest.mark.parametrize("made", sorted(MADE_BY_ONE_ACCOUNT))
def test_what_one_account_makes_many_at_once_stops_at_its_limit(
    index: IndexServer, made: str
) -> None:
    # Counted, then inserted, as hooks are: without the hold, all would pass the count at once.
    user = (f"maker-{made}", "maker-password-1")
    index.sign_up(user)
    with index.api(user) as api:  # each worker remembers the password: the requests meet
        for _ in range(6):
            assert_status(api.get("/api/user"), 200)
    path, shown_at = (text.replace("{user}", user[0]) for text in MADE_BY_ONE_ACCOUNT[made])
    if made == "teams":
        with index.api(user) as api:
            assert_status(api.post("/api/orgs", json={"name": f"{user[0]}-org"}), 201)
    names = [f"{made}-{number}" for number in range(AT_ONCE)]

    def create(name: str) -> httpx.Response:
        with index.api(user) as api:
            body = {"name": name, "scopes": ["read"]} if made == "tokens" else {"name": name}
            return api.post(path, json=body)

    with ThreadPoolExecutor(AT_ONCE) as pool:
        answers = list(pool.map(create, names))
    assert sorted(a.status_code for a in answers) == [201] * CAP + [409] * (AT_ONCE - CAP)
    refused = next(a for a in answers if a.status_code == 409)
    assert f"the most {made.replace('tokens', 'access tokens')}" in refused.text
    assert f"({CAP}: index.limits." in refused.text
    with index.api(user) as api:
        if made == "tokens":
            shown = [t["name"] for t in api.get("/api/tokens").json()]
        else:
            shown = [n for n in names if api.get(shown_at.format(name=n)).status_code == 200]
    made_ones = [name for name, a in zip(names, answers, strict=True) if a.status_code == 201]
    assert sorted(shown) == sorted(made_ones)


def test_repositories_moved_to_one_name_at_once_end_with_one_there(index: IndexServer) -> None:
    # The target's name was looked up, then taken: on PostgreSQL the other renames failed on
    # the registry's unique name with a 500 where a 409 says the name is taken.
    sources = [f"mover{number}/moved" for number in range(AT_ONCE)]
    for source in sources:
        with index.registry(ADMIN, f"repository:{source}:pull,push") as registry:
            push_image(registry, source, make_image(source), "v1")
    for source in sources:
        index.catalogued(source)

    def move(source: str) -> int:
        with index.api(ADMIN) as api:
            body = {"namespace": "crew"}
            return api.post(f"/api/repositories/{source}/transfer", json=body).status_code

    with ThreadPoolExecutor(AT_ONCE) as pool:
        statuses = sorted(pool.map(move, sources))
    assert statuses == [204] + [409] * (AT_ONCE - 1)
    with index.api(ADMIN) as api:
        moved = api.get("/api/repositories/crew/moved")
        assert moved.status_code == 200
        left = [s for s in sources if api.get(f"/api/repositories/{s}").status_code == 200]
    assert len(left) == AT_ONCE - 1
    with index.registry(ADMIN, "repository:crew/moved:pull") as registry:
        assert registry.get("/v2/crew/moved/tags/list").json()["tags"] == ["v1"]


@pytest.mark.parametrize("made", ["teams", "webhooks"])
def test_an_organisation_deleted_while_things_are_made_in_it_is_gone_with_them(
    index: IndexServer, made: str
) -> None:
    # What is made refers to the organisation, looked up first: on PostgreSQL an insert after
    # the deletion committed failed on the foreign key with a 500.
    organisation = f"doomed-{made}"
    with index.api(ADMIN) as api:
        assert_status(api.post("/api/orgs", json={"name": organisation}), 201)

    def send(number: int) -> int:
        with index.api(ADMIN) as api:
            if number == AT_ONCE // 2:
                return api.delete(f"/api/orgs/{organisation}").status_code
            body: dict[str, str] = {"name": f"thing-{number}"}
            if made == "webhooks":
                body["url"] = "http://127.0.0.1:9/hook"
            return api.post(f"/api/orgs/{organisation}/{made}", json=body).status_code

    with ThreadPoolExecutor(AT_ONCE) as pool:
        statuses = list(pool.map(send, range(AT_ONCE)))
    assert statuses[AT_ONCE // 2] == 204, statuses
    capped = {409}  # three hooks an owner, three teams an organisation
    assert set(statuses) <= {201, 204, 404} | capped, statuses
    with index.api(ADMIN) as api:
        assert api.get(f"/api/orgs/{organisation}/members").status_code == 404


def test_an_account_deleted_while_it_stars_comments_and_makes_tokens_leaves_nothing_of_it(
    index: IndexServer,
) -> None:
    # The account was looked up when it signed in, before the write's transaction: on
    # PostgreSQL a write after the deletion committed failed on the foreign key with a 500.
    eve = ("eve", "eve-password-1")
    with index.api() as anonymous:
        body = {"username": "eve", "email": "eve@example.com", "password": eve[1]}
        assert_status(anonymous.post("/api/users", json=body), 201)
    busy = "/api/repositories/admin/busy"
    writes = [
        ("PUT", f"{busy}/star", None),
        ("POST", f"{busy}/comments", {"body": "hello"}),
        ("POST", "/api/tokens", {"name": "token", "scopes": ["read"]}),
    ]

    def send(number: int) -> int:
        if number == AT_ONCE:
            with index.api(ADMIN) as api:
                return api.delete("/api/users/eve").status_code
        method, path, body = writes[number % len(writes)]
        if method == "POST" and path == "/api/tokens":
            body = {**body, "name": f"token-{number}"}  # type: ignore[dict-item]
        with index.api(eve) as api:
            return api.request(method, path, json=body).status_code

    with ThreadPoolExecutor(AT_ONCE) as pool:
        statuses = list(pool.map(send, range(AT_ONCE * 2)))
    assert statuses[AT_ONCE] == 204, statuses
    assert set(statuses) <= {201, 204, 401, 409}, statuses
    with index.api(ADMIN) as api:
        gazers = api.get(f"{busy}/stargazers").json()["results"]
        comments = api.get(f"{busy}/comments").json()["results"]
        shown = api.get(busy).json()
    assert "eve" not in [g["username"] for g in gazers]
    assert "eve" not in [c["author"] for c in comments]
    assert shown["star_count"] == len(gazers)


def test_stars_sent_from_the_web_while_the_account_is_deleted_are_no_server_error(
    index: IndexServer,
) -> None:
    # The web page read its session before the star's transaction: on PostgreSQL a star
    # written after the account's deletion committed failed on the foreign key, a 500 page.
    with sign_up(index.url, "wes", "wes-password-1") as me:
        token = csrf_token(me, "/r/admin/busy")
        cookies = dict(me.cookies)

    def send(number: int) -> int:
        if number == AT_ONCE // 2:
            with index.api(ADMIN) as api:
                return api.delete("/api/users/wes").status_code
        with httpx.Client(base_url=index.url, cookies=cookies) as client:
            return client.post("/r/admin/busy/-/star", data={"csrf_token": token}).status_code

    with ThreadPoolExecutor(AT_ONCE) as pool:
        statuses = list(pool.map(send, range(AT_ONCE * 2)))
    assert statuses[AT_ONCE // 2] == 204, statuses
    assert set(statuses) <= {204, 303, 403, 409}, statuses
