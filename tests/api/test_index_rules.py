"""`auth.mode: index`: namespaces, official images, tokens, sign-up, the first administrator,
the CLI and the /api's errors, on real servers."""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.api import assert_error
from tests.support.images import make_image, push_image
from tests.support.index import ADMIN_PASSWORD, IndexServer, index_server
from tests.support.servers import dockyard_server

ADMIN = ("admin", ADMIN_PASSWORD)


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IndexServer]:
    with index_server(tmp_path_factory.mktemp("index-rules") / "data") as server:
        with server.api() as api:
            for user in ("alice", "bob"):
                body = {
                    "username": user,
                    "email": f"{user}@example.com",
                    "password": f"{user}-pw-1",
                }
                assert api.post("/api/users", json=body).status_code == 201
        yield server


def creds(user: str) -> tuple[str, str]:
    return (user, f"{user}-pw-1")


def granted(index: IndexServer, credentials: tuple[str, str] | None, scope: str) -> list[str]:
    """The actions /token grants on the scope's resource."""
    import jwt

    claims = jwt.decode(index.token(credentials, scope), options={"verify_signature": False})
    return [a for entry in claims.get("access", []) for a in entry["actions"]]


def test_push_to_own_namespace_creates_a_public_repository(index: IndexServer) -> None:
    with index.registry(creds("alice"), "repository:alice/fresh:pull,push") as client:
        push_image(client, "alice/fresh", make_image("alice-fresh"), "v1")
    index.catalogued("alice/fresh")
    with index.registry(None, "repository:alice/fresh:pull") as anonymous:
        assert anonymous.get("/v2/alice/fresh/manifests/v1").status_code == 200
    with index.api() as api:
        shown = api.get("/api/repositories/alice/fresh").json()
    assert (shown["name"], shown["visibility"], shown["description"]) == (
        "alice/fresh",
        "public",
        "",
    )


def test_push_to_private_repo_of_another_user_is_denied(index: IndexServer) -> None:
    assert granted(index, creds("bob"), "repository:alice/other:pull,push") == []
    assert granted(index, creds("alice"), "repository:alice/other:pull,push,delete") == [
        "pull",
        "push",
        "delete",
    ]


def test_single_component_names_are_official_images_only_admins_push(index: IndexServer) -> None:
    assert granted(index, creds("alice"), "repository:busybox:pull,push") == []
    with index.registry(ADMIN, "repository:busybox:pull,push") as client:
        push_image(client, "busybox", make_image("busybox"), "latest")
    index.catalogued("library/busybox")
    assert granted(index, creds("alice"), "repository:busybox:pull,push") == ["pull"]
    with index.api() as api:
        assert api.get("/api/repositories/library/busybox").json()["visibility"] == "public"


def test_personal_token_is_capped_by_its_scopes_and_revocable(index: IndexServer) -> None:
    with index.api(creds("alice")) as api:
        created = api.post("/api/tokens", json={"name": "laptop", "scopes": ["read"]})
        assert created.status_code == 201, created.text
        secret = created.json()["token"]
        assert created.json()["login"] == "alice"
        token_login = ("alice", secret)
        assert granted(index, token_login, "repository:alice/capped:pull,push") == ["pull"]
        listed = api.get("/api/tokens").json()
        assert [t["name"] for t in listed] == ["laptop"] and "token" not in listed[0]
        # A token may not mint or revoke tokens: a leaked one cannot outlive its revocation.
        with index.api(token_login) as by_token:
            assert_error(
                by_token.post("/api/tokens", json={"name": "x", "scopes": ["read"]}), 403, "DENIED"
            )
        assert api.delete("/api/tokens/laptop").status_code == 204
    refused = httpx.get(f"{index.url}/token", auth=token_login, params={"service": "dockyard"})
    assert refused.status_code == 401


def test_organisation_owner_administers_and_members_do_not(index: IndexServer) -> None:
    with index.api(creds("alice")) as alice, index.api(creds("bob")) as bob:
        assert alice.post("/api/orgs", json={"name": "wonder"}).status_code == 201
        assert_error(bob.put("/api/orgs/wonder/members/bob", json={}), 404, "NOT_FOUND")
        assert alice.put("/api/orgs/wonder/members/bob", json={}).status_code == 204
        assert_error(bob.put("/api/orgs/wonder/members/bob", json={"role": "owner"}), 403, "DENIED")
        assert bob.get("/api/orgs/wonder/members").json() == [
            {"username": "alice", "role": "owner"},
            {"username": "bob", "role": "member"},
        ]
    assert granted(index, creds("alice"), "repository:wonder/app:push") == ["push"]
    # bob is a member without a team or a role: nothing on the organisation's private repo
    assert granted(index, creds("bob"), "repository:wonder/never:pull,push") == []


def test_an_owner_deletes_a_team_and_what_it_gave_its_members_goes(index: IndexServer) -> None:
    with index.api(creds("alice")) as alice, index.api(creds("bob")) as bob:
        assert alice.post("/api/orgs", json={"name": "teamed"}).status_code == 201
        assert alice.post("/api/orgs/teamed/teams", json={"name": "ops"}).status_code == 201
        assert alice.put("/api/orgs/teamed/teams/ops/members/bob").status_code == 204
        private = {"visibility": "private"}
        assert alice.patch("/api/repositories/teamed/app", json=private).status_code == 200
        role = "/api/repositories/teamed/app/collaborators/teams/ops"
        assert alice.put(role, json={"role": "write"}).status_code == 204
        assert granted(index, creds("bob"), "repository:teamed/app:pull,push") == ["pull", "push"]
        assert_error(bob.delete("/api/orgs/teamed/teams/ops"), 403, "DENIED")
        assert alice.delete("/api/orgs/teamed/teams/ops").status_code == 204
        assert granted(index, creds("bob"), "repository:teamed/app:pull,push") == []
        assert_error(alice.get("/api/orgs/teamed/teams/ops/members"), 404, "NOT_FOUND")
        assert_error(alice.delete("/api/orgs/teamed/teams/ops"), 404, "NOT_FOUND")


def test_a_members_new_role_keeps_their_teams_and_what_the_teams_give(
    index: IndexServer,
) -> None:
    # Made an owner, a member was taken out of every team (the role was set by removing the
    # membership and adding it again), and lost what the teams gave on repositories.
    with index.api(creds("alice")) as alice:
        assert alice.post("/api/orgs", json={"name": "promoting"}).status_code == 201
        assert alice.post("/api/orgs/promoting/teams", json={"name": "ops"}).status_code == 201
        assert alice.put("/api/orgs/promoting/teams/ops/members/bob").status_code == 204
        private = {"visibility": "private"}
        assert alice.patch("/api/repositories/promoting/app", json=private).status_code == 200
        role = "/api/repositories/promoting/app/collaborators/teams/ops"
        assert alice.put(role, json={"role": "read"}).status_code == 204
        assert granted(index, creds("bob"), "repository:promoting/app:pull") == ["pull"]
        for new_role in ("owner", "member"):
            member = "/api/orgs/promoting/members/bob"
            assert alice.put(member, json={"role": new_role}).status_code == 204
            assert alice.get("/api/orgs/promoting/teams/ops/members").json() == ["bob"]
        assert granted(index, creds("bob"), "repository:promoting/app:pull") == ["pull"]
        # Added to a team again, as an owner: still an owner.
        assert alice.put(member, json={"role": "owner"}).status_code == 204
        assert alice.put("/api/orgs/promoting/teams/ops/members/bob").status_code == 204
        roles = {m["username"]: m["role"] for m in alice.get("/api/orgs/promoting/members").json()}
        assert roles == {"alice": "owner", "bob": "owner"}


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        (
            "POST",
            "/api/users",
            {"username": "alice", "email": "a@b.c", "password": "long-enough"},
            409,
            "CONFLICT",
        ),
        (
            "POST",
            "/api/users",
            {"username": "Bad Name", "email": "a@b.c", "password": "long-enough"},
            400,
            "INVALID_REQUEST",
        ),
        (
            "POST",
            "/api/users",
            {"username": "library", "email": "a@b.c", "password": "long-enough"},
            400,
            "INVALID_REQUEST",
        ),
        (
            "POST",
            "/api/users",
            {"username": "shorty", "email": "a@b.c", "password": "short"},
            400,
            "INVALID_REQUEST",
        ),
        ("POST", "/api/users", {"username": "extra", "nope": 1}, 400, "INVALID_REQUEST"),
        ("POST", "/api/users", "not json", 400, "INVALID_REQUEST"),
        ("GET", "/api/user", None, 401, "UNAUTHORIZED"),
        ("GET", "/api/tokens", None, 401, "UNAUTHORIZED"),
        ("GET", "/api/repositories/alice/never-pushed", None, 404, "NOT_FOUND"),
        ("PATCH", "/api/repositories/alice/fresh", {"visibility": "private"}, 401, "UNAUTHORIZED"),
    ],
)
def test_api_errors_are_json_4xx(
    index: IndexServer, method: str, path: str, body: object, status: int, code: str
) -> None:
    with index.api() as api:
        content = body if isinstance(body, str) else None
        json_body = None if isinstance(body, str) else body
        response = api.request(method, path, json=json_body, content=content)
    assert_error(response, status, code)


def test_wrong_password_and_strangers_changes_are_refused(index: IndexServer) -> None:
    with index.api(("alice", "wrong-password")) as api:
        assert_error(api.get("/api/user"), 401, "UNAUTHORIZED")
    with index.registry(creds("alice"), "repository:alice/shown:pull,push") as client:
        push_image(client, "alice/shown", make_image("alice-shown"), "v1")
    index.catalogued("alice/shown")
    with index.api(creds("bob")) as bob:
        change = bob.patch("/api/repositories/alice/shown", json={"visibility": "private"})
        assert_error(change, 403, "DENIED")  # bob can see it (public) but not change it
        assert_error(bob.get("/api/orgs/nowhere/members"), 404, "NOT_FOUND")


def test_first_start_creates_admin_and_prints_the_password_once(tmp_path: Path) -> None:
    env = {"DOCKYARD_AUTH__MODE": "index", "DOCKYARD_ADMIN_PASSWORD": ""}
    with dockyard_server(tmp_path / "data", env=env) as server:
        printed = [line for line in server.log.read_text().splitlines() if "administrator" in line]
        assert len(printed) == 1
        generated = printed[0].split("with password ", 1)[1].split(" ", 1)[0]
        me = httpx.get(f"{server.url}/api/user", auth=("admin", generated))
        assert me.json()["is_admin"] is True
    with dockyard_server(tmp_path / "data", env=env) as again:
        assert "administrator" not in again.log.read_text()


def test_the_first_administrator_is_made_over_repositories_kept_under_admin(
    tmp_path: Path,
) -> None:
    # A name holding repositories goes to no newcomer, but the first administrator is the
    # site's: refused, the index would have started without one.
    data = tmp_path / "data"
    with index_server(data) as index:
        with index.registry(("admin", ADMIN_PASSWORD), "repository:admin/kept:pull,push") as r:
            push_image(r, "admin/kept", make_image("kept-under-admin"), "v1")
        index.catalogued("admin/kept")
    with contextlib.closing(sqlite3.connect(data / "registry.db")) as database, database:
        database.execute("DELETE FROM users")  # as a database restored without its accounts
        database.execute("DELETE FROM namespaces")
    with index_server(data, {"DOCKYARD_ADMIN_PASSWORD": "the-new-admin-pw"}) as index:
        me = httpx.get(f"{index.url}/api/user", auth=("admin", "the-new-admin-pw"))
        assert me.status_code == 200 and me.json()["is_admin"] is True


def test_sign_up_can_be_switched_off(tmp_path: Path) -> None:
    env = {"DOCKYARD_INDEX__SIGNUP_ENABLED": "false"}
    with index_server(tmp_path / "data", env) as server:
        body = {"username": "eve", "email": "eve@example.com", "password": "eve-password"}
        with server.api() as anonymous:
            assert_error(anonymous.post("/api/users", json=body), 403, "DENIED")
        with server.api(ADMIN) as admin:
            assert admin.post("/api/users", json=body).status_code == 201


def test_cli_adds_users_organisations_and_tokens(tmp_path: Path) -> None:
    data = str(tmp_path / "data")

    def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "dockyard.cli", *args, "--data", data]
        return subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=60)

    added = cli(
        "user", "add", "carol", "--email", "c@example.com", "--password-stdin", stdin="carol-pw-1\n"
    )
    assert added.returncode == 0, added.stderr
    assert cli("org", "add", "carols", "--owner", "carol").returncode == 0
    taken = cli("org", "add", "carols", "--owner", "carol")
    assert taken.returncode == 1 and "taken" in taken.stderr
    token = cli("token", "add", "carol", "--scope", "read,write", "--expires-days", "7")
    assert token.returncode == 0, token.stderr
    secret = token.stdout.strip()
    with index_server(tmp_path / "data") as server:
        assert granted(server, ("carol", secret), "repository:carols/app:pull,push,delete") == [
            "pull",
            "push",
        ]


def test_api_sign_in_failures_share_the_token_service_throttle(index: IndexServer) -> None:
    body = {"username": "target", "email": "t@example.com", "password": "target-pw-1"}
    with index.api() as api:
        assert api.post("/api/users", json=body).status_code == 201
    with index.api(("target", "wrong-password")) as api:
        statuses = [api.get("/api/user").status_code for _ in range(10)]
        throttled = api.get("/api/user")
    assert statuses == [401] * 10
    assert_error(throttled, 429, "TOOMANYREQUESTS")
    assert int(throttled.headers["retry-after"]) > 0
    token = httpx.get(f"{index.url}/token", auth=("target", "target-pw-1"))
    assert token.status_code == 429  # the same account is locked at /token too
