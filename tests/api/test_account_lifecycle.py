"""The account lifecycle on real servers, SQLite and PostgreSQL: password changes and resets,
disabling, deletion, transfers, and one space of names even when creations race.

Whatever ends an account's credentials ends them at once, everywhere: at `/token` (password,
refresh token, access token, robot) and at `/api`.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import jwt
import pytest

from tests.support.api import assert_error, assert_status
from tests.support.auth import bearer
from tests.support.images import make_image, push_image
from tests.support.index import ADMIN_PASSWORD, SERVICE, IndexServer, index_on_backend

ADMIN = ("admin", ADMIN_PASSWORD)
_names = itertools.count()


@pytest.fixture(scope="module")
def index(
    database_backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[IndexServer]:
    with index_on_backend(database_backend, request, tmp_path_factory, "lifecycle") as server:
        yield server


def new_user(index: IndexServer, stem: str = "user") -> tuple[str, str]:
    name = f"{stem}{next(_names)}"
    password = f"{name}-password"
    body = {"username": name, "email": f"{name}@example.com", "password": password}
    with index.api() as api:
        assert_status(api.post("/api/users", json=body), 201)
    return name, password


def new_token(index: IndexServer, user: tuple[str, str], name: str, robot: bool) -> tuple[str, str]:
    """(login, secret) of a new read, write and delete token of `user`."""
    body = {"name": name, "scopes": ["read", "write", "delete"], "robot": robot}
    with index.api(user) as api:
        created = api.post("/api/tokens", json=body)
    assert_status(created, 201)
    return created.json()["login"], created.json()["token"]


def refresh_token(index: IndexServer, credentials: tuple[str, str]) -> str:
    params = {"service": SERVICE, "offline_token": "true", "client_id": "docker"}
    response = httpx.get(f"{index.url}/token", params=params, auth=credentials)
    assert_status(response, 200)
    token: str = response.json()["refresh_token"]
    return token


def refresh(index: IndexServer, token: str) -> httpx.Response:
    form = {
        "grant_type": "refresh_token",
        "refresh_token": token,
        "service": SERVICE,
        "client_id": "docker",
    }
    return httpx.post(f"{index.url}/token", data=form)


def token_status(index: IndexServer, credentials: tuple[str, str]) -> int:
    return httpx.get(
        f"{index.url}/token", params={"service": SERVICE}, auth=credentials
    ).status_code


def api_status(index: IndexServer, credentials: tuple[str, str]) -> int:
    with index.api(credentials) as api:
        return api.get("/api/user").status_code


def signs_in(index: IndexServer, credentials: tuple[str, str]) -> bool:
    statuses = {token_status(index, credentials), api_status(index, credentials)}
    assert statuses in ({200}, {401}), statuses  # /token and /api always agree
    return statuses == {200}


def test_a_password_change_needs_the_old_one_and_ends_every_credential_at_once(
    index: IndexServer,
) -> None:
    name, old = new_user(index)
    token = new_token(index, (name, old), "laptop", robot=False)
    robot = new_token(index, (name, old), "ci", robot=True)
    before = refresh_token(index, (name, old))
    by_robot = refresh_token(index, robot)
    assert refresh(index, before).status_code == 200
    with index.api((name, old)) as api:
        wrong = {"old_password": "not-it-at-all", "new_password": "brand-new-pw"}
        assert_error(api.put("/api/user/password", json=wrong), 403, "DENIED")
        short = {"old_password": old, "new_password": "short"}
        assert_error(api.put("/api/user/password", json=short), 400, "INVALID_REQUEST")
        change = {"old_password": old, "new_password": "brand-new-pw"}
        assert_status(api.put("/api/user/password", json=change), 204)
    assert not signs_in(index, (name, old))
    assert signs_in(index, (name, "brand-new-pw"))
    assert not signs_in(index, token)
    assert not signs_in(index, robot)
    for ended in (before, by_robot):
        refused = refresh(index, ended)
        assert refused.status_code == 401 and refused.json()["error"] == "invalid_grant"
    after = refresh_token(index, (name, "brand-new-pw"))
    assert refresh(index, after).status_code == 200
    with index.api((name, "brand-new-pw")) as api:
        assert all(t["revoked"] for t in api.get("/api/tokens").json())


def test_a_deleted_accounts_logins_do_not_sign_in_to_a_new_account_of_its_name(
    index: IndexServer,
) -> None:
    # Refresh tokens name their account: the one `docker login` kept for a deleted account
    # signed in to the next account made with the name, its private repositories included.
    name, old = new_user(index, "reused")
    kept = refresh_token(index, (name, old))
    robot = new_token(index, (name, old), "ci", robot=True)
    with index.api(ADMIN) as api:
        assert_status(api.delete(f"/api/users/{name}"), 204)
    body = {"username": name, "email": f"new-{name}@example.com", "password": "another-person"}
    with index.api() as anonymous:
        assert_status(anonymous.post("/api/users", json=body), 201)
    refused = refresh(index, kept)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_grant"
    assert not signs_in(index, (name, old)) and not signs_in(index, robot)
    newcomer = refresh_token(index, (name, "another-person"))
    assert refresh(index, newcomer).status_code == 200


def test_a_token_or_a_robot_cannot_change_the_password_or_delete_the_account(
    index: IndexServer,
) -> None:
    name, password = new_user(index)
    for credentials in (
        new_token(index, (name, password), "all", robot=False),
        new_token(index, (name, password), "bot", robot=True),
    ):
        with index.api(credentials) as api:
            change = {"old_password": password, "new_password": "stolen-password"}
            assert_error(api.put("/api/user/password", json=change), 403, "DENIED")
            assert_error(api.delete(f"/api/users/{name}"), 403, "DENIED")
    assert signs_in(index, (name, password))


def test_site_administrators_reset_passwords_and_nobody_else_does(index: IndexServer) -> None:
    victim, password = new_user(index)
    stranger = new_user(index)
    body = {"new_password": "reset-by-admin"}
    with index.api(stranger) as api:
        assert_error(api.put(f"/api/users/{victim}/password", json=body), 403, "DENIED")
    with index.api(ADMIN) as api:
        assert_status(api.put(f"/api/users/{victim}/password", json=body), 204)
        assert_error(api.put("/api/users/nobody-at-all/password", json=body), 404, "NOT_FOUND")
    assert not signs_in(index, (victim, password))
    assert signs_in(index, (victim, "reset-by-admin"))


def test_a_disabled_account_proves_nothing_anywhere_until_enabled(index: IndexServer) -> None:
    name, password = new_user(index)
    token = new_token(index, (name, password), "laptop", robot=False)
    robot = new_token(index, (name, password), "ci", robot=True)
    refresh_before = refresh_token(index, (name, password))
    with index.api((name, password)) as api:
        assert_error(api.post(f"/api/users/{name}/disable"), 403, "DENIED")
    with index.api(ADMIN) as api:
        assert_status(api.post(f"/api/users/{name}/disable"), 204)
    for credentials in ((name, password), token, robot):
        assert not signs_in(index, credentials)
    assert refresh(index, refresh_before).status_code == 401
    form = {"grant_type": "password", "username": name, "password": password}
    posted = httpx.post(f"{index.url}/token", data={**form, "service": SERVICE, "client_id": "x"})
    assert posted.status_code == 401
    with index.api(ADMIN) as api:
        assert_status(api.post(f"/api/users/{name}/enable"), 204)
    for credentials in ((name, password), token, robot):
        assert signs_in(index, credentials)
    # Enabling suspends nothing further, but brings no refresh token back.
    assert refresh(index, refresh_before).status_code == 401


def test_an_administrator_cannot_disable_or_delete_the_last_site_administrator(
    index: IndexServer,
) -> None:
    with index.api(ADMIN) as api:
        assert_error(api.post("/api/users/admin/disable"), 409, "CONFLICT")
        refused = assert_error(api.delete("/api/users/admin"), 409, "CONFLICT")
    assert "last enabled site administrator" in refused["message"]
    assert signs_in(index, ADMIN)


def test_deleting_waits_for_repositories_to_go_and_transfer_moves_them(
    index: IndexServer,
) -> None:
    name, password = new_user(index, "carl")
    carl = (name, password)
    org = f"{name}co"
    repo = f"{name}/app"
    with index.registry(carl, f"repository:{repo}:pull,push") as client:
        digest = push_image(client, repo, make_image(repo), "v1")
    index.catalogued(repo)
    with index.api(carl) as api:
        assert_status(api.post("/api/orgs", json={"name": org}), 201)
        refused = assert_error(api.delete(f"/api/users/{name}"), 409, "CONFLICT")
        assert "1 repository" in refused["message"] and "transfer" in refused["message"]
        moved = api.post(f"/api/repositories/{repo}/transfer", json={"namespace": org})
        assert_status(moved, 204)
        assert_error(api.get(f"/api/repositories/{repo}"), 404, "NOT_FOUND")
        assert api.get(f"/api/repositories/{org}/app").json()["tag_count"] == 1
        refused = assert_error(api.delete(f"/api/users/{name}"), 409, "CONFLICT")
        assert f"only owner of {org}" in refused["message"]
        refused = assert_error(api.delete(f"/api/orgs/{org}"), 409, "CONFLICT")
        assert "1 repository" in refused["message"]
    with index.registry(None, f"repository:{org}/app:pull") as client:
        assert client.get(f"/v2/{org}/app/manifests/v1").headers["docker-content-digest"] == digest
    with index.registry(ADMIN, f"repository:{repo}:pull") as client:
        assert client.get(f"/v2/{repo}/manifests/v1").status_code == 404
    with index.api(ADMIN) as api:
        moved = api.post(f"/api/repositories/{org}/app/transfer", json={"namespace": "admin"})
        assert_status(moved, 204)
    token = new_token(index, carl, "laptop", robot=False)
    with index.api(carl) as api:
        assert_status(api.delete(f"/api/orgs/{org}"), 204)
        assert_status(api.delete(f"/api/users/{name}"), 204)
    assert not signs_in(index, carl)
    assert not signs_in(index, token)
    with index.api() as api:  # the names are free again
        body = {"username": name, "email": "again@example.com", "password": "another-pw"}
        assert_status(api.post("/api/users", json=body), 201)
    with index.api((name, "another-pw")) as api:
        assert_status(api.post("/api/orgs", json={"name": org}), 201)


def test_transfers_are_refused_to_strangers_onto_taken_names_and_for_tokens(
    index: IndexServer,
) -> None:
    owner = new_user(index)
    other = new_user(index)
    repo = f"{owner[0]}/thing"
    taken = f"{other[0]}/thing"
    for user, name in ((owner, repo), (other, taken)):
        with index.registry(user, f"repository:{name}:pull,push") as client:
            push_image(client, name, make_image(name), "v1")
        index.catalogued(name)
    target = {"namespace": other[0]}
    with index.api(other) as api:
        assert_error(api.post(f"/api/repositories/{repo}/transfer", json=target), 403, "DENIED")
    with index.api(owner) as api:
        # owner does not administer other's namespace
        assert_error(api.post(f"/api/repositories/{repo}/transfer", json=target), 403, "DENIED")
        to_nobody = {"namespace": "no-such-namespace"}
        assert_error(
            api.post(f"/api/repositories/{repo}/transfer", json=to_nobody), 404, "NOT_FOUND"
        )
        library = {"namespace": "library"}
        assert_error(
            api.post(f"/api/repositories/{repo}/transfer", json=library), 400, "INVALID_REQUEST"
        )
    with index.api(ADMIN) as api:
        conflict = api.post(f"/api/repositories/{repo}/transfer", json=target)
        assert_error(conflict, 409, "CONFLICT")
    token = new_token(index, owner, "all", robot=False)
    with index.api(token) as api:
        mine = {"namespace": owner[0]}
        assert_error(api.post(f"/api/repositories/{taken}/transfer", json=mine), 403, "DENIED")


def test_only_the_account_itself_or_a_site_administrator_deletes_it(index: IndexServer) -> None:
    victim = new_user(index)
    stranger = new_user(index)
    with index.api(stranger) as api:
        assert_error(api.delete(f"/api/users/{victim[0]}"), 403, "DENIED")
    with index.api(ADMIN) as api:
        assert_status(api.delete(f"/api/users/{victim[0]}"), 204)
        assert_error(api.delete(f"/api/users/{victim[0]}"), 404, "NOT_FOUND")
    assert not signs_in(index, victim)


def test_a_user_and_an_organisation_racing_for_one_name_get_it_once(index: IndexServer) -> None:
    """Eight creations at once, sign-ups and organisations: the database's key on the name
    decides, so exactly one wins and the others are 409, never a 500."""
    creator = new_user(index)

    def create(name: str, n: int) -> int:
        if n % 2:
            body = {"username": name, "email": f"{n}@example.com", "password": "contested-pw"}
            return httpx.post(f"{index.url}/api/users", json=body, timeout=30).status_code
        with index.api(creator) as api:
            return api.post("/api/orgs", json={"name": name}).status_code

    for attempt in range(5):
        name = f"contested{next(_names)}x{attempt}"
        with ThreadPoolExecutor(8) as pool:
            statuses = sorted(pool.map(create, [name] * 8, range(8)))
        assert statuses == [201] + [409] * 7, statuses


def test_a_name_that_holds_repositories_goes_to_no_new_owner(index: IndexServer) -> None:
    # Repositories under a name no account holds (an administrator's push or replication
    # there, a mirror's cache, a push with a token that outlived its account) went to whoever
    # signed up with the name next: theirs to push over and delete.
    loose = f"loose{next(_names)}"
    with index.registry(ADMIN, f"repository:{loose}/app:pull,push") as registry:
        push_image(registry, f"{loose}/app", make_image(loose), "v1")
    gone = new_user(index, "gone")
    token = index.token(gone, f"repository:{gone[0]}/late:pull,push")
    with index.api(ADMIN) as api:
        assert_status(api.delete(f"/api/users/{gone[0]}"), 204)
    with httpx.Client(base_url=index.url, headers=bearer(token), timeout=30) as registry:
        push_image(registry, f"{gone[0]}/late", make_image(gone[0]), "v1")  # the token lives on
    creator = new_user(index)
    for name in (loose, gone[0]):
        index.catalogued(f"{name}/{'app' if name == loose else 'late'}")
        body = {"username": name, "email": f"{name}@example.com", "password": "taken-password"}
        with index.api() as anonymous:
            refused = assert_error(anonymous.post("/api/users", json=body), 409, "CONFLICT")
        assert "repositories are kept under it" in refused["message"]
        with index.api(creator) as api:
            assert_error(api.post("/api/orgs", json={"name": name}), 409, "CONFLICT")
    # A site administrator may give them to an account, knowingly.
    body = {"username": loose, "email": f"{loose}@example.com", "password": "given-on-purpose"}
    with index.api(ADMIN) as api:
        assert_status(api.post("/api/users", json=body), 201)
    granted = index.token((loose, "given-on-purpose"), f"repository:{loose}/app:pull,push")
    (access,) = jwt.decode(granted, options={"verify_signature": False})["access"]
    assert access["actions"] == ["pull", "push"]


LONG = "n" * 300


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/api/users", {"username": LONG, "email": "a@b.c", "password": "x" * 9}, 400),
        (
            "POST",
            "/api/users",
            {"username": "mail", "email": "a@" + LONG, "password": "x" * 9},
            400,
        ),
        ("POST", "/api/users", {"username": "pw", "email": "a@b.c", "password": "x" * 5000}, 400),
        ("POST", "/api/orgs", {"name": "o" * 65}, 400),
        ("POST", "/api/tokens", {"name": "t" * 65, "scopes": ["read"]}, 400),
        ("POST", "/api/tokens", {"name": "scopes", "scopes": ["read", "everything"]}, 400),
        ("PUT", f"/api/users/{LONG}/password", {"new_password": "long-enough"}, 404),
        ("PUT", "/api/users/admin/password", {"new_password": "n" * 5000}, 400),
        ("POST", f"/api/users/{LONG}/disable", None, 404),
        ("DELETE", f"/api/users/{LONG}", None, 404),
        ("DELETE", f"/api/orgs/{LONG}", None, 404),
        ("POST", f"/api/repositories/admin/{'r' * 300}/transfer", {"namespace": "admin"}, 400),
        ("POST", "/api/repositories/admin/x/transfer", {"namespace": LONG}, 400),
        ("POST", "/api/repositories/admin/x/transfer", {"namespace": "n" * 65}, 404),
    ],
)
def test_names_too_long_and_malformed_scopes_are_4xx_never_500(
    index: IndexServer, method: str, path: str, body: object, status: int
) -> None:
    with index.api(ADMIN) as api:
        response = api.request(method, path, json=body)
    assert_error(response, status, "INVALID_REQUEST" if status == 400 else "NOT_FOUND")


@pytest.mark.parametrize(
    ("scope", "status"),
    [
        ("repository:" + LONG + ":pull", 400),  # longer than any repository name
        ("repository:" + "n" * 100 + "/app:pull,push", 200),
        ("repository:app", 400),
        ("repository::pull", 400),
        ("repository:app:", 400),
        ("repository:app:pull:push:x", 400),
        ("nonsense", 400),
        ("x" * 5000, 400),
    ],
)
def test_token_scopes_too_long_or_malformed_are_400_or_grant_nothing(
    index: IndexServer, scope: str, status: int
) -> None:
    """Malformed (a name longer than any repository's included): 400. Well-formed but naming
    what no account can hold (a namespace longer than any account's): nothing granted."""
    stranger = new_user(index)
    response = httpx.get(
        f"{index.url}/token", params={"service": SERVICE, "scope": scope}, auth=stranger
    )
    if status == 400:
        assert_error(response, 400, "INVALID_REQUEST")
    else:
        assert_status(response, 200)
        assert response.json()["scope"] == ""


def test_cli_sets_a_password_and_ends_the_old_one(tmp_path: Path) -> None:
    data = str(tmp_path / "data")

    def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "dockyard.cli", *args, "--data", data]
        return subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=60)

    added = cli(
        "user", "add", "dora", "--email", "d@example.com", "--password-stdin", stdin="dora-pw-1\n"
    )
    assert added.returncode == 0, added.stderr
    changed = cli("user", "passwd", "dora", "--password-stdin", stdin="dora-pw-2\n")
    assert changed.returncode == 0, changed.stderr
    missing = cli("user", "passwd", "nobody", "--password-stdin", stdin="whatever-pw\n")
    assert missing.returncode == 1 and "no user" in missing.stderr
    short = cli("user", "passwd", "dora", "--password-stdin", stdin="short\n")
    assert short.returncode == 1 and "at least" in short.stderr
    # No terminal and nothing on standard input: one line, not getpass' EOFError traceback.
    untyped = cli("user", "passwd", "dora")
    assert untyped.returncode == 1 and "no password typed" in untyped.stderr
    assert "Traceback" not in untyped.stderr
    from tests.support.index import index_server

    with index_server(tmp_path / "data") as server:
        assert not signs_in(server, ("dora", "dora-pw-1"))
        assert signs_in(server, ("dora", "dora-pw-2"))
