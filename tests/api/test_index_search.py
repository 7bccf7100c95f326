"""Search in `auth.mode: index`: `GET /v1/search` (the original registry's answer, what docker and
podman call) and `GET /api/search`, on SQLite and PostgreSQL. Private repositories appear only to
those who may pull them; pages hold every match once.

acme belongs to oscar; tom is in acme's team devs (a read collaborator on acme/team-tool); rita
reads acme/secret-db; sam is a stranger; `oscar+ci` a read-only robot of oscar's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.api import assert_error, assert_status
from tests.support.index import (
    ADMIN_PASSWORD,
    Credentials,
    IndexServer,
    index_on_backend,
)

USERS = ("oscar", "tom", "rita", "sam")
ADMIN = ("admin", ADMIN_PASSWORD)


@dataclass(frozen=True)
class Repo:
    name: str
    description: str
    visibility: str
    readers: frozenset[str] = frozenset()  # who else may pull it when private


REPOS = [
    Repo("library/ubuntu", "Ubuntu is a Debian-based Linux operating system", "public"),
    Repo("acme/web-server", "A small WEB server for static files", "public"),
    Repo("acme/secret-db", "Database of 100% secret_keys", "private", frozenset({"rita"})),
    Repo("acme/team-tool", "What the devs team builds with", "private", frozenset({"tom"})),
    Repo("oscar/notes", "Oscar's own notes, a web of them", "private"),
    Repo("sam/webhook-relay", "Relays webhooks", "public"),
    # Enough to span pages: every third private, descriptions from a small vocabulary.
    *(
        Repo(
            f"acme/pkg-{i:02d}",
            ["alpha build", "beta web", "gamma db", "delta"][i % 4],
            "private" if i % 3 == 0 else "public",
        )
        for i in range(36)
    ),
]
OWNERS = {"acme": {"oscar"}, "library": set(), "oscar": {"oscar"}, "sam": {"sam"}}


def may_pull(who: str, repo: Repo) -> bool:
    if repo.visibility == "public" or who == "admin":
        return True
    namespace = repo.name.split("/")[0]
    return (
        who in OWNERS[namespace]
        or who in repo.readers
        or (who == "robot" and "oscar" in OWNERS[namespace])
    )


def matches(repo: Repo, text: str) -> bool:
    words = text.strip().lower()
    return words in repo.name or words in repo.description.lower()


def expected(who: str, text: str, namespace: str | None = None) -> set[str]:
    return {
        r.name
        for r in REPOS
        if may_pull(who, r) and matches(r, text) and namespace in (None, r.name.split("/")[0])
    }


@dataclass
class World:
    index: IndexServer
    credentials: dict[str, Credentials] = field(default_factory=dict)

    clients: dict[str, httpx.Client] = field(default_factory=dict)

    def v1(self, who: str, **params: Any) -> httpx.Response:
        return self._client(who).get("/v1/search", params=params)

    def search(self, who: str, **params: Any) -> httpx.Response:
        return self._client(who).get("/api/search", params=params)

    def _client(self, who: str) -> httpx.Client:
        """One kept-alive client per caller: the property tests send thousands of requests."""
        if who not in self.clients:
            self.clients[who] = self.index.api(self.credentials[who])
        return self.clients[who]

    def close(self) -> None:
        for client in self.clients.values():
            client.close()


@pytest.fixture(scope="module")
def world(
    database_backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    with index_on_backend(database_backend, request, tmp_path_factory, "search") as index:
        world = _populate(index)
        yield world
        world.close()


def _populate(index: IndexServer) -> World:
    """Each caller signs in with a personal access token (checked in microseconds, where a
    password takes argon2's hundreds of milliseconds): what it sees is its account's."""
    passwords = {user: (user, f"{user}-password") for user in USERS}
    with index.api() as anonymous:
        for user in USERS:
            body = {
                "username": user,
                "email": f"{user}@example.com",
                "password": passwords[user][1],
            }
            assert_status(anonymous.post("/api/users", json=body), 201)
    world = World(index, {"anonymous": None})
    for user, credentials in [*passwords.items(), ("admin", ADMIN)]:
        with index.api(credentials) as api:
            token = api.post("/api/tokens", json={"name": "search", "scopes": ["read", "write"]})
            assert_status(token, 201)
            world.credentials[user] = (user, token.json()["token"])
    # Changes need the password: a token never changes settings.
    owner = passwords["oscar"]
    with index.api(owner) as api:
        assert_status(api.post("/api/orgs", json={"name": "acme"}), 201)
        assert_status(api.post("/api/orgs/acme/teams", json={"name": "devs"}), 201)
        assert_status(api.put("/api/orgs/acme/teams/devs/members/tom"), 204)
    with index.api(passwords["oscar"]) as api:
        robot = api.post("/api/tokens", json={"name": "ci", "scopes": ["read"], "robot": True})
        assert_status(robot, 201)
        world.credentials["robot"] = ("oscar+ci", robot.json()["token"])
    for repo in REPOS:
        namespace = repo.name.split("/")[0]
        creator = {"library": ADMIN, "sam": passwords["sam"]}.get(namespace, passwords["oscar"])
        with index.api(creator) as api:
            change = {"visibility": repo.visibility, "description": repo.description}
            assert_status(api.patch(f"/api/repositories/{repo.name}", json=change), 200)
    with index.api(owner) as api:
        path = "/api/repositories/acme/secret-db/collaborators/users/rita"
        assert_status(api.put(path, json={"role": "read"}), 204)
        path = "/api/repositories/acme/team-tool/collaborators/teams/devs"
        assert_status(api.put(path, json={"role": "read"}), 204)
    return world


WHO = ["anonymous", "oscar", "tom", "rita", "sam", "robot", "admin"]


def _names(response: httpx.Response) -> list[str]:
    assert_status(response, 200)
    return [result["name"] for result in response.json()["results"]]


@pytest.mark.parametrize("who", WHO)
def test_v1_search_lists_what_each_caller_may_pull_and_nothing_private_of_others(
    world: World, who: str
) -> None:
    for text in ("", "web", "db", "acme/pkg-0"):
        response = world.v1(who, q=text, n=100)
        assert set(_names(response)) == expected(who, text), (who, text)
        assert response.json()["num_results"] == len(expected(who, text))


def test_v1_search_answers_the_original_registrys_fields(world: World) -> None:
    response = world.v1("anonymous", q="ubuntu")
    assert_status(response, 200)
    assert response.json() == {
        "num_pages": 1,
        "num_results": 1,
        "page_size": 25,
        "query": "ubuntu",
        "page": 1,
        "results": [
            {
                "name": "library/ubuntu",
                "description": "Ubuntu is a Debian-based Linux operating system",
                "star_count": 0,
                "is_official": True,
                "is_automated": False,
                "pull_count": 0,
            }
        ],
    }
    other = world.v1("anonymous", q="webhook").json()["results"]
    assert [(r["name"], r["is_official"]) for r in other] == [("sam/webhook-relay", False)]


def test_v1_search_matches_descriptions_in_any_case_and_takes_percent_and_underscore_literally(
    world: World,
) -> None:
    assert _names(world.v1("admin", q="DEBIAN")) == ["library/ubuntu"]
    assert _names(world.v1("admin", q="static files")) == ["acme/web-server"]
    assert _names(world.v1("admin", q="100%")) == ["acme/secret-db"]
    assert _names(world.v1("admin", q="t_k")) == ["acme/secret-db"]
    assert _names(world.v1("admin", q="%")) == ["acme/secret-db"]
    assert _names(world.v1("admin", q="nothing-is-called-this")) == []


def test_v1_search_of_one_or_two_characters_finds_substrings_too(world: World) -> None:
    for text in ("u", "db", "W", "%"):
        assert set(_names(world.v1("admin", q=text, n=100))) == expected("admin", text), text


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"n": "0"}, "n"),
        ({"n": "101"}, "n"),
        ({"n": "-1"}, "n"),
        ({"n": "ten"}, "n"),
        ({"n": "1" * 5000}, "n"),
        ({"page": "0"}, "page"),
        ({"page": "x"}, "page"),
        ({"page": "²"}, "page"),
    ],
)
def test_v1_search_refuses_a_bad_page_size_or_number_with_the_registrys_error(
    world: World, params: dict[str, str], name: str
) -> None:
    error = assert_error(world.v1("anonymous", q="web", **params), 400, "PAGINATION_NUMBER_INVALID")
    assert error["message"].startswith(name)


def test_v1_search_with_a_password_in_basic_credentials_sees_what_the_account_may_pull(
    world: World,
) -> None:
    with world.index.api(("rita", "rita-password")) as client:
        response = client.get("/v1/search", params={"q": "db", "n": 100})
    assert set(_names(response)) == expected("rita", "db")
    assert "acme/secret-db" in _names(response)


def test_v1_search_with_a_bearer_token_for_catalog_search_sees_what_its_subject_may_pull(
    world: World,
) -> None:
    token = world.index.token(("rita", "rita-password"), "registry:catalog:search")
    with httpx.Client(base_url=world.index.url, timeout=30) as client:
        headers = {"Authorization": f"Bearer {token}"}
        response = client.get("/v1/search", params={"q": "db"}, headers=headers)
    assert set(_names(response)) == expected("rita", "db")
    assert "acme/secret-db" in _names(response)


def test_v1_search_with_a_bearer_token_of_an_access_token_sees_its_owners_until_revoked(
    world: World,
) -> None:
    """The Bearer token's subject (`rita+bearer`) is looked up in the search's transaction: its
    owner's repositories while the access token lives, anonymous's once it is revoked (the
    Bearer token itself has not expired)."""
    with world.index.api(("rita", "rita-password")) as api:
        made = api.post("/api/tokens", json={"name": "bearer", "scopes": ["read"]})
        assert_status(made, 201)
    token = world.index.token(("rita", made.json()["token"]), "registry:catalog:search")
    with httpx.Client(base_url=world.index.url, timeout=30) as client:
        headers = {"Authorization": f"Bearer {token}"}
        response = client.get("/v1/search", params={"q": "db", "n": 100}, headers=headers)
        assert set(_names(response)) == expected("rita", "db")
        with world.index.api(("rita", "rita-password")) as api:
            assert_status(api.delete("/api/tokens/bearer"), 204)
        response = client.get("/v1/search", params={"q": "db", "n": 100}, headers=headers)
        assert set(_names(response)) == expected("anonymous", "db")


def test_v1_search_with_a_token_for_another_scope_sees_what_anonymous_sees(world: World) -> None:
    token = world.index.token(("oscar", "oscar-password"), "repository:acme/secret-db:pull")
    with httpx.Client(base_url=world.index.url, timeout=30) as client:
        headers = {"Authorization": f"Bearer {token}"}
        response = client.get("/v1/search", params={"q": "db", "n": 100}, headers=headers)
    assert set(_names(response)) == expected("anonymous", "db")


@pytest.mark.parametrize(
    "authorization", ["Bearer not-a-token", "Basic b3NjYXI6d3Jvbmc=", "Basic !!", "Digest x"]
)
def test_v1_search_with_wrong_credentials_is_401(world: World, authorization: str) -> None:
    with httpx.Client(base_url=world.index.url, timeout=30) as client:
        response = client.get(
            "/v1/search", params={"q": "web"}, headers={"Authorization": authorization}
        )
    assert_error(response, 401, "UNAUTHORIZED")


def test_v1_search_pages_hold_n_results_and_count_the_pages(world: World) -> None:
    total = len(expected("admin", "pkg"))
    first = world.v1("admin", q="pkg", n=10, page=1).json()
    last = world.v1("admin", q="pkg", n=10, page=4).json()
    after = world.v1("admin", q="pkg", n=10, page=5).json()
    assert (first["num_results"], first["num_pages"], len(first["results"])) == (total, 4, 10)
    assert (last["page"], len(last["results"])) == (4, total - 30)
    assert (after["num_pages"], after["results"]) == (4, [])


def test_a_repository_made_private_leaves_a_strangers_search_and_a_new_description_is_found(
    world: World,
) -> None:
    with world.index.api(("oscar", "oscar-password")) as api:
        assert_status(
            api.patch("/api/repositories/acme/fleeting", json={"description": "here now"}), 200
        )
        assert "acme/fleeting" in _names(world.v1("sam", q="fleeting"))
        change = {"visibility": "private", "description": "gone quiet"}
        assert_status(api.patch("/api/repositories/acme/fleeting", json=change), 200)
    assert _names(world.v1("sam", q="fleeting")) == []
    assert _names(world.search("sam", q="fleeting")) == []
    assert _names(world.v1("oscar", q="gone quiet")) == ["acme/fleeting"]
    assert _names(world.v1("oscar", q="here now")) == []


def test_api_search_filters_by_namespace_and_answers_its_fields(world: World) -> None:
    response = world.search("oscar", q="web", namespace="acme", per_page=5)
    assert_status(response, 200)
    body = response.json()
    names = expected("oscar", "web", "acme")
    assert {k: body[k] for k in ("query", "namespace", "sort", "page", "per_page", "total")} == {
        "query": "web",
        "namespace": "acme",
        "sort": "relevance",
        "page": 1,
        "per_page": 5,
        "total": len(names),
    }
    assert body["pages"] == -(-len(names) // 5)
    assert set(body["results"][0]) == {
        "name",
        "namespace",
        "description",
        "visibility",
        "star_count",
        "pull_count",
        "is_official",
    }
    assert all(hit["namespace"] == "acme" for hit in body["results"])


def test_api_search_by_relevance_puts_name_matches_before_description_matches(
    world: World,
) -> None:
    names = _names(world.search("admin", q="web", per_page=100))
    # acme/web-server starts a component; the webhook relay's name holds "web"; the rest only
    # in their descriptions (name order within each).
    assert names[:2] == ["acme/web-server", "sam/webhook-relay"]
    rest = names[2:]
    assert rest == sorted(rest) and all("web" not in name for name in rest)
    exact = _names(world.search("admin", q="ubuntu"))
    assert exact == ["library/ubuntu"]


def test_api_search_sorts_ties_by_name(world: World) -> None:
    # Nothing here was pushed or pulled (settings only; test_catalogue.py pushes and pulls):
    # every order falls back to the name.
    by_name = sorted(expected("anonymous", "pkg"))
    for sort in ("stars", "pulls", "last_push"):
        assert _names(world.search("anonymous", q="pkg", sort=sort, per_page=100)) == by_name


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"sort": "size"}, "INVALID_REQUEST"),
        ({"per_page": "0"}, "PAGINATION_NUMBER_INVALID"),
        ({"page": "0"}, "PAGINATION_NUMBER_INVALID"),
        ({"namespace": "Not A Namespace"}, "INVALID_REQUEST"),
    ],
)
def test_api_search_refuses_bad_parameters(world: World, params: dict[str, str], code: str) -> None:
    assert_error(world.search("anonymous", **params), 400, code)


def test_search_texts_no_repository_could_hold_find_nothing(world: World) -> None:
    assert _names(world.v1("admin", q="a\0b")) == []
    assert _names(world.v1("admin", q="x" * 5000)) == []
    everything = world.v1("admin", q="").json()["num_results"]
    assert world.v1("admin", q="   ").json()["num_results"] == everything >= len(REPOS)


_texts = st.sampled_from(
    ["", "pkg", "web", "db", "a", "e", "acme", "pkg-1", "delta", "zz", " Web "]
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    who=st.sampled_from(WHO),
    text=_texts,
    n=st.integers(1, 100),
    beyond=st.integers(1, 3),
)
def test_v1_search_pages_are_within_bounds_and_hold_every_match_once(
    world: World, who: str, text: str, n: int, beyond: int
) -> None:
    first = world.v1(who, q=text, n=n, page=1).json()
    total, pages = first["num_results"], first["num_pages"]
    assert pages == -(-total // n)
    seen: list[str] = []
    for page in range(1, pages + 1):
        body = first if page == 1 else world.v1(who, q=text, n=n, page=page).json()
        assert (body["page"], body["page_size"], body["num_results"]) == (page, n, total)
        results = [r["name"] for r in body["results"]]
        assert len(results) == (n if page < pages else total - n * (pages - 1))
        seen += results
    assert len(seen) == len(set(seen)) == total
    assert set(seen) - {"acme/fleeting"} == expected(who, text)
    past = world.v1(who, q=text, n=n, page=pages + beyond).json()
    assert past["results"] == [] and past["num_results"] == total


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    who=st.sampled_from(WHO),
    text=_texts,
    per_page=st.integers(1, 100),
    sort=st.sampled_from(["relevance", "stars", "pulls", "last_push"]),
    namespace=st.sampled_from([None, "acme", "library", "oscar"]),
)
def test_api_search_pages_are_within_bounds_and_hold_every_match_once(
    world: World, who: str, text: str, per_page: int, sort: str, namespace: str | None
) -> None:
    params: dict[str, Any] = {"q": text, "per_page": per_page, "sort": sort}
    if namespace is not None:
        params["namespace"] = namespace
    whole = _names(world.search(who, **{**params, "per_page": 100}))
    first = world.search(who, **params).json()
    total, pages = first["total"], first["pages"]
    assert pages == -(-total // per_page)
    seen: list[str] = []
    for page in range(1, pages + 1):
        body = first if page == 1 else world.search(who, **params, page=page).json()
        assert len(body["results"]) <= per_page and body["total"] == total
        seen += [hit["name"] for hit in body["results"]]
    assert seen == whole[: len(seen)] and len(seen) == len(set(seen)) == total
    assert set(seen) - {"acme/fleeting"} == expected(who, text, namespace)


def test_a_registry_without_an_index_has_no_search(client: httpx.Client) -> None:
    assert_error(client.get("/v1/search", params={"q": "x"}), 404, "NAME_UNKNOWN")
    assert_error(client.get("/api/search"), 404, "NAME_UNKNOWN")
