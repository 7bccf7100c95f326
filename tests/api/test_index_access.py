"""`auth.mode: index`: who may do what, cell by cell. Every identity signs in at the server's own
/token with Basic credentials (as docker does) and uses the token it gets on /v2.

The repositories live in the organisation `acme` (owner oscar, member mia, team devs with tom);
rita, walt and adam are read, write and admin collaborators, devs a write collaborator; sam is a
stranger; `oscar+ci` a read-only robot of the owner's; `admin` the site administrator.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.support.api import assert_error, assert_status
from tests.support.images import make_image, push_image, put_manifest, sha256
from tests.support.index import (
    ADMIN_PASSWORD,
    Credentials,
    IndexServer,
    index_on_backend,
)

USERS = ("oscar", "mia", "tom", "rita", "walt", "adam", "sam")
ROLES = {"rita": "read", "walt": "write", "adam": "admin"}
_seeds = itertools.count()


def password(user: str) -> str:
    return f"{user}-password"


@dataclass(frozen=True)
class Who:
    credentials: Credentials
    role: str | None  # on acme's repositories
    target: str | None  # a repository of its own it may push to (for mounts)


@dataclass
class World:
    index: IndexServer
    who: dict[str, Who]
    repos: dict[str, str]  # visibility → repository
    digest: dict[str, str]  # visibility → manifest digest tagged v1
    layer: dict[str, str]  # visibility → a layer's digest


@pytest.fixture(scope="module")
def world(
    database_backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    with index_on_backend(database_backend, request, tmp_path_factory, "index") as index:
        yield _populate(index)


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
        robot = api.post("/api/tokens", json={"name": "ci", "scopes": ["read"], "robot": True})
        assert_status(robot, 201)
    who = {
        "anonymous": Who(None, None, None),
        "owner": Who(owner, "admin", "oscar/target"),
        "org member": Who(("mia", password("mia")), None, "mia/target"),
        "team member": Who(("tom", password("tom")), "write", "tom/target"),
        "read collaborator": Who(("rita", password("rita")), "read", "rita/target"),
        "write collaborator": Who(("walt", password("walt")), "write", "walt/target"),
        "admin collaborator": Who(("adam", password("adam")), "admin", "adam/target"),
        "stranger": Who(("sam", password("sam")), None, "sam/target"),
        "robot": Who(("oscar+ci", robot.json()["token"]), "read", None),
        "site admin": Who(("admin", ADMIN_PASSWORD), "admin", "admin/target"),
    }
    return World(index, who, repos, digest, layer)


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
    "site admin",
]
VISIBILITIES = ["public", "private"]


def may_pull(who: Who, visibility: str) -> bool:
    return visibility == "public" or who.role is not None


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
        if who.role in ("write", "admin"):
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
    if who.role == "admin" and identity != "robot":
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
