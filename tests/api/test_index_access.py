"""`auth.mode: index`: who may do what, cell by cell. Every identity signs in at the server's own
/token with Basic credentials (as docker does) and uses the token it gets on /v2.

The repositories live in the organisation `acme` (owners oscar and otto, member mia, team devs
with tom); rita, walt and adam are read, write and admin collaborators, devs a write
collaborator; sam is a stranger; otto's robots `otto+ci`, `otto+pusher` and `otto+cleaner` have
the read, write and delete scopes, his personal token all three; dina was a write collaborator
until a site administrator disabled her; `admin` is the site administrator.

The /api half: a change (settings, collaborators, members, teams, tokens, passwords, accounts,
webhooks) is made only by a person signed in with the password, never by a token or a robot,
whatever its scopes; stars and comments, the account's own activity, also by a personal token
with the write scope, never by a robot.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass

import httpx
import pytest

from tests.support.api import assert_error, assert_status
from tests.support.images import make_image, push_image, put_manifest, sha256
from tests.support.index import ADMIN_PASSWORD, Credentials, IndexServer, index_server
from tests.support.postgres import backend_env

USERS = ("oscar", "otto", "mia", "tom", "rita", "walt", "adam", "sam", "dina", "zed")
ROLES = {"rita": "read", "walt": "write", "adam": "admin", "dina": "write"}
ROLE_ACTIONS = {
    "read": {"pull"},
    "write": {"pull", "push"},
    "admin": {"pull", "push", "delete"},
}
_seeds = itertools.count()


def password(user: str) -> str:
    return f"{user}-password"


@dataclass(frozen=True)
class Who:
    credentials: Credentials
    role: str | None  # on acme's repositories
    target: str | None  # a repository of its own it may push to (for mounts)
    cap: frozenset[str] | None = None  # a token's or a robot's actions

    def actions(self, visibility: str) -> set[str]:
        found = set(ROLE_ACTIONS.get(self.role or "", set()))
        if visibility == "public":
            found.add("pull")
        return found if self.cap is None else found & self.cap


@dataclass
class World:
    index: IndexServer
    who: dict[str, Who]
    repos: dict[str, str]  # visibility → repository
    digest: dict[str, str]  # visibility → manifest digest tagged v1
    layer: dict[str, str]  # visibility → a layer's digest
    disabled: dict[str, tuple[str, str]]  # dina's credentials, by kind, after she was disabled


@pytest.fixture(scope="module")
def world(
    database_backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    # The disabled account's refusals are failed sign-ins: more of them than the throttle allows.
    throttle = {
        "DOCKYARD_AUTH__THROTTLE__MAX_FAILURES": "1000",
        "DOCKYARD_INDEX__WEBHOOKS__ALLOW": '["127.0.0.1"]',  # the matrix's (inactive) hooks
    }
    with ExitStack() as stack:
        env = {**stack.enter_context(backend_env(database_backend, request)), **throttle}
        data = tmp_path_factory.mktemp(f"index-{database_backend}") / "data"
        yield _populate(stack.enter_context(index_server(data, env)))


def _populate(index: IndexServer) -> World:
    with index.api() as anonymous:
        for user in USERS:
            body = {"username": user, "email": f"{user}@example.com", "password": password(user)}
            assert_status(anonymous.post("/api/users", json=body), 201)
    owner = ("oscar", password("oscar"))
    repos = {"public": "acme/public-app", "private": "acme/private-app"}
    digest, layer = {}, {}
    with index.api(owner) as api:
        assert_status(api.post("/api/orgs", json={"name": "acme"}), 201)
        assert_status(api.put("/api/orgs/acme/members/otto", json={"role": "owner"}), 204)
        assert_status(api.put("/api/orgs/acme/members/mia", json={"role": "member"}), 204)
        assert_status(api.post("/api/orgs/acme/teams", json={"name": "devs"}), 201)
        assert_status(api.put("/api/orgs/acme/teams/devs/members/tom"), 204)
        for visibility, repo in repos.items():
            with index.registry(owner, f"repository:{repo}:pull,push") as registry:
                image = make_image(repo)
                digest[visibility] = push_image(registry, repo, image, "v1")
                layer[visibility] = sha256(image.layers[0])
            change = {"visibility": visibility}
            assert_status(api.patch(f"/api/repositories/{repo}", json=change), 200)
            for user, role in ROLES.items():
                path = f"/api/repositories/{repo}/collaborators/users/{user}"
                assert_status(api.put(path, json={"role": role}), 204)
            path = f"/api/repositories/{repo}/collaborators/teams/devs"
            assert_status(api.put(path, json={"role": "write"}), 204)
    tokens = {}
    with index.api(("otto", password("otto"))) as api:
        for name, scopes, robot in TOKENS:
            wanted = {"name": name, "scopes": list(scopes), "robot": robot}
            created = api.post("/api/tokens", json=wanted)
            assert_status(created, 201)
            tokens[name] = (created.json()["login"], created.json()["token"])
    dina = ("dina", password("dina"))
    with index.api(dina) as api:
        created = api.post("/api/tokens", json={"name": "ci", "scopes": ["read"], "robot": True})
        assert_status(created, 201)
        dina_robot = (created.json()["login"], created.json()["token"])
    with index.api(("admin", ADMIN_PASSWORD)) as api:
        assert_status(api.post("/api/users/dina/disable"), 204)
    who = {
        "anonymous": Who(None, None, None),
        "owner": Who(owner, "admin", "oscar/target"),
        "org member": Who(("mia", password("mia")), None, "mia/target"),
        "team member": Who(("tom", password("tom")), "write", "tom/target"),
        "read collaborator": Who(("rita", password("rita")), "read", "rita/target"),
        "write collaborator": Who(("walt", password("walt")), "write", "walt/target"),
        "admin collaborator": Who(("adam", password("adam")), "admin", "adam/target"),
        "stranger": Who(("sam", password("sam")), None, "sam/target"),
        "robot": Who(tokens["ci"], "admin", None, frozenset({"pull"})),
        "robot write": Who(tokens["pusher"], "admin", None, frozenset({"pull", "push"})),
        "robot delete": Who(tokens["cleaner"], "admin", None, frozenset({"delete"})),
        "token": Who(tokens["laptop"], "admin", None, frozenset({"pull", "push", "delete"})),
        "site admin": Who(("admin", ADMIN_PASSWORD), "admin", "admin/target"),
    }
    disabled = {"password": dina, "robot": dina_robot}
    return World(index, who, repos, digest, layer, disabled)


# otto's: (name, scopes, robot)
TOKENS = [
    ("ci", ("read",), True),
    ("pusher", ("write",), True),
    ("cleaner", ("delete",), True),
    ("laptop", ("read", "write", "delete"), False),
]


IDENTITIES = [
    "anonymous",
    "owner",
    "org member",
    "team member",
    "read collaborator",
    "write collaborator",
    "admin collaborator",
    "stranger",
    "robot",
    "robot write",
    "robot delete",
    "token",
    "site admin",
]
VISIBILITIES = ["public", "private"]


def may_pull(who: Who, visibility: str) -> bool:
    return "pull" in who.actions(visibility)


matrix = pytest.mark.parametrize(
    ("identity", "visibility"), list(itertools.product(IDENTITIES, VISIBILITIES))
)


@matrix
def test_pull(world: World, identity: str, visibility: str) -> None:
    who, repo = world.who[identity], world.repos[visibility]
    with world.index.registry(who.credentials, f"repository:{repo}:pull") as client:
        response = client.get(f"/v2/{repo}/manifests/v1")
    if may_pull(who, visibility):
        assert_status(response, 200)
        assert response.headers["docker-content-digest"] == world.digest[visibility]
    else:
        assert_error(response, 401, "UNAUTHORIZED")


@matrix
def test_push(world: World, identity: str, visibility: str) -> None:
    who, repo = world.who[identity], world.repos[visibility]
    image = make_image(f"push-{identity}-{visibility}-{next(_seeds)}")
    with world.index.registry(who.credentials, f"repository:{repo}:pull,push") as client:
        if {"pull", "push"} <= who.actions(visibility):
            push_image(client, repo, image, f"by-{identity.replace(' ', '-')}")
        else:
            assert_error(client.post(f"/v2/{repo}/blobs/uploads/"), 401, "UNAUTHORIZED")
            assert_error(put_manifest(client, repo, "stolen", image), 401, "UNAUTHORIZED")


@matrix
def test_delete(world: World, identity: str, visibility: str) -> None:
    who, repo = world.who[identity], world.repos[visibility]
    admin = world.who["site admin"].credentials
    image = make_image(f"delete-{identity}-{visibility}-{next(_seeds)}")
    with world.index.registry(admin, f"repository:{repo}:pull,push") as client:
        digest = push_image(client, repo, image, f"doomed-{next(_seeds)}")
    with world.index.registry(who.credentials, f"repository:{repo}:delete") as client:
        response = client.delete(f"/v2/{repo}/manifests/{digest}")
    if "delete" in who.actions(visibility):
        assert_status(response, 202)
    else:
        assert_error(response, 401, "UNAUTHORIZED")


@matrix
def test_mount_from(world: World, identity: str, visibility: str) -> None:
    """A mount from a repository the caller may not pull falls back to an upload."""
    who, source = world.who[identity], world.repos[visibility]
    target = who.target or "oscar/target"
    scopes = (f"repository:{target}:pull,push", f"repository:{source}:pull")
    params = {"mount": world.layer[visibility], "from": source}
    with world.index.registry(who.credentials, *scopes) as client:
        response = client.post(f"/v2/{target}/blobs/uploads/", params=params)
    if who.target is None:
        assert_error(response, 401, "UNAUTHORIZED")  # may push nowhere
    elif may_pull(who, visibility):
        assert_status(response, 201)
    else:
        assert_status(response, 202)


@matrix
def test_catalog(world: World, identity: str, visibility: str) -> None:
    who, repo = world.who[identity], world.repos[visibility]
    with world.index.registry(who.credentials, "registry:catalog:*") as client:
        response = client.get("/v2/_catalog", params={"n": 1000})
    assert_status(response, 200)
    assert (repo in response.json()["repositories"]) == may_pull(who, visibility)


@matrix
def test_tags_list(world: World, identity: str, visibility: str) -> None:
    who, repo = world.who[identity], world.repos[visibility]
    with world.index.registry(who.credentials, f"repository:{repo}:pull") as client:
        response = client.get(f"/v2/{repo}/tags/list")
    if may_pull(who, visibility):
        assert_status(response, 200)
        assert "v1" in response.json()["tags"]
    else:
        assert_error(response, 401, "UNAUTHORIZED")


@matrix
def test_referrers(world: World, identity: str, visibility: str) -> None:
    who, repo = world.who[identity], world.repos[visibility]
    with world.index.registry(who.credentials, f"repository:{repo}:pull") as client:
        response = client.get(f"/v2/{repo}/referrers/{world.digest[visibility]}")
    if may_pull(who, visibility):
        assert_status(response, 200)
    else:
        assert_error(response, 401, "UNAUTHORIZED")


@pytest.mark.parametrize("identity", ["anonymous", "stranger", "org member"])
def test_private_repository_answers_like_one_that_does_not_exist(
    world: World, identity: str
) -> None:
    who = world.who[identity]
    private, missing = world.repos["private"], "acme/no-such-app"
    answers = []
    for repo in (private, missing):
        with world.index.registry(who.credentials, f"repository:{repo}:pull") as client:
            responses = [
                client.get(f"/v2/{repo}/manifests/v1"),
                client.get(f"/v2/{repo}/tags/list"),
                client.get(f"/v2/{repo}/blobs/{world.layer['private']}"),
                client.get(f"/v2/{repo}/referrers/{world.digest['private']}"),
            ]
        answers.append(
            [
                (r.status_code, r.text.replace(repo, "NAME"), r.headers["www-authenticate"])
                for r in responses
            ]
        )
    assert [status for status, _, _ in answers[0]] == [401] * 4
    private_answers = [(s, body, c.replace(private, "NAME")) for s, body, c in answers[0]]
    missing_answers = [(s, body, c.replace(missing, "NAME")) for s, body, c in answers[1]]
    assert private_answers == missing_answers


@pytest.mark.parametrize("kind", ["password", "robot"])
def test_a_disabled_account_gets_nothing_at_token_nor_api(world: World, kind: str) -> None:
    credentials = world.disabled[kind]
    params = {"service": "dockyard", "scope": f"repository:{world.repos['public']}:pull"}
    refused = httpx.get(f"{world.index.url}/token", params=params, auth=credentials)
    assert_error(refused, 401, "UNAUTHORIZED")
    with world.index.api(credentials) as api:
        assert_error(api.get("/api/user"), 401, "UNAUTHORIZED")
        assert_error(api.get(f"/api/repositories/{world.repos['private']}"), 401, "UNAUTHORIZED")


# The /api's changes, each made by every identity: (what, method, path, body, who may).
# `{repo}` is the repository of the visibility; `{self}` the caller's own user name; `{victim}`
# an account made for the call. zed is no identity: giving him roles changes no other cell.
CHANGES = {
    "settings": ("PATCH", "/api/repositories/{repo}", {"description": "changed"}),
    "collaborator": (
        "PUT",
        "/api/repositories/{repo}/collaborators/users/zed",
        {"role": "read"},
    ),
    "member": ("PUT", "/api/orgs/acme/members/zed", {"role": "member"}),
    "team member": ("PUT", "/api/orgs/acme/teams/devs/members/zed", None),
    "token": ("POST", "/api/tokens", {"name": "{token}", "scopes": ["read"]}),
    "password": (
        "PUT",
        "/api/user/password",
        {"old_password": "{password}", "new_password": "{password}"},
    ),
    "account deletion": ("DELETE", "/api/users/{victim}", None),
    # Inactive: the matrix's pushes and deletes must not call it.
    "webhook": (
        "POST",
        "/api/repositories/{repo}/webhooks",
        {"url": "http://127.0.0.1:9/hook", "active": False},
    ),
    # The account's own activity, not settings (Caller.may_post).
    "star": ("PUT", "/api/repositories/{repo}/star", None),
    "comment": ("POST", "/api/repositories/{repo}/comments", {"body": "a word"}),
}
CHANGE_IDENTITIES = [*IDENTITIES, "disabled", "disabled robot"]


def expected_change(world: World, identity: str, change: str, visibility: str) -> int:
    """The status of `change` by `identity`: 401 without a live sign-in, 403 for every token
    and robot, else by role."""
    if identity in ("anonymous", "disabled", "disabled robot"):
        return 401
    who = world.who[identity]
    if change in ("star", "comment"):
        if who.cap is not None and (identity.startswith("robot") or "push" not in who.cap):
            return 403
        if not may_pull(who, visibility):
            return 404
        return 204 if change == "star" else 201
    if who.cap is not None:
        return 403
    ok = {"settings": 200, "token": 201, "webhook": 201}.get(change, 204)
    if change in ("token", "password"):
        return ok
    if change == "account deletion":
        return ok if identity == "site admin" else 403
    if change in ("member", "team member"):
        if identity in ("owner", "site admin"):
            return ok
        return 403 if identity in ("org member", "team member") else 404
    if who.role == "admin":
        return ok
    return 403 if may_pull(who, visibility) else 404


def _credentials(world: World, identity: str) -> Credentials:
    if identity == "disabled":
        return world.disabled["password"]
    if identity == "disabled robot":
        return world.disabled["robot"]
    return world.who[identity].credentials


@pytest.mark.parametrize("change", list(CHANGES))
@pytest.mark.parametrize("identity", CHANGE_IDENTITIES)
@pytest.mark.parametrize("visibility", VISIBILITIES)
def test_api_changes(world: World, identity: str, change: str, visibility: str) -> None:
    credentials = _credentials(world, identity)
    method, path, body = CHANGES[change]
    victim = f"victim{next(_seeds)}"
    if change == "account deletion":
        form = {"username": victim, "email": "v@example.com", "password": "victim-password"}
        with world.index.api() as anonymous:
            assert_status(anonymous.post("/api/users", json=form), 201)
    fills = {
        "repo": world.repos[visibility],
        "victim": victim,
        "token": f"t{next(_seeds)}",
        "password": "" if credentials is None else credentials[1],
    }
    filled = None
    if body is not None:
        filled = {k: v.format(**fills) if isinstance(v, str) else v for k, v in body.items()}
    with world.index.api(credentials) as api:
        response = api.request(method, path.format(**fills), json=filled)
    expected = expected_change(world, identity, change, visibility)
    if expected < 400:
        assert_status(response, expected)
    else:
        code = {401: "UNAUTHORIZED", 403: "DENIED", 404: "NOT_FOUND"}[expected]
        assert_error(response, expected, code)
