"""A change that checks, then writes, against the change that makes its check wrong, made
between the two. Each test stops the first change right after its check, holding (from a
connection of its own) a row that change writes next, and lets go once the second change has
finished or waits too. On PostgreSQL, whose transactions run side by side (SQLite runs one
writer at a time), each of these ended with what the check was there to prevent."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.support.api import assert_error, assert_status
from tests.support.images import make_image, push_blobs, push_image, put_manifest
from tests.support.index import ADMIN_PASSWORD, IndexServer, index_server
from tests.support.postgres import PostgresServer
from tests.support.waiting import eventually

ADMIN = ("admin", ADMIN_PASSWORD)
Credentials = tuple[str, str]


@dataclass
class Paused:
    """An index on PostgreSQL, and a way to stop a change between its check and its write."""

    index: IndexServer
    libpq: str  # the database's URL for psycopg

    def between(self, hold: str, first: Callable[[], int], second: Callable[[], int]) -> list[int]:
        """The statuses of `first` and `second`: `hold` (a SELECT ... FOR ...) stops `first`
        after its check; `second` runs then."""
        with psycopg.connect(self.libpq) as held, ThreadPoolExecutor(2) as pool:
            held.execute(hold.encode())
            one = pool.submit(first)
            eventually(lambda: self._waiting() == 1, what="the first change waits")
            two = pool.submit(second)
            eventually(lambda: two.done() or self._waiting() == 2, what="the second done or waits")
            held.rollback()
            return [one.result(), two.result()]

    def send(self, who: Credentials, method: str, path: str, body: Any = None) -> Callable[[], int]:
        def sent() -> int:
            with self.index.api(who) as api:
                return api.request(method, path, json=body).status_code

        return sent

    def _waiting(self) -> int:
        with psycopg.connect(self.libpq) as connection:
            found = connection.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            ).fetchone()
        assert found is not None
        return int(found[0])


@pytest.fixture
def paused(postgres: PostgresServer, tmp_path: Path) -> Iterator[Paused]:
    with (
        postgres.database() as url,
        index_server(tmp_path / "data", {"DOCKYARD_DATABASE__URL": url}) as index,
    ):
        libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        yield Paused(index, libpq)


def test_an_account_deleted_as_its_fellow_owner_steps_down_leaves_the_organisation_an_owner(
    paused: Paused,
) -> None:
    # The deletion checked that another owner stayed, then deleted; the other owner stepping
    # down in between (counting the account, not yet deleted, as an owner) left nobody. Held:
    # the account's token row.
    alice, bob = ("alice", "alice-password-1"), ("bob", "bob-password-1")
    index = paused.index
    index.sign_up(alice, bob)
    with index.api(alice) as api:
        assert_status(api.post("/api/orgs", json={"name": "pair"}), 201)
        assert_status(api.put("/api/orgs/pair/members/bob", json={"role": "owner"}), 204)
        assert_status(api.post("/api/tokens", json={"name": "kept", "scopes": ["read"]}), 201)
    statuses = paused.between(
        "SELECT 1 FROM access_tokens JOIN users ON users.id = access_tokens.user_id"
        " WHERE users.username = 'alice' FOR UPDATE OF access_tokens",
        paused.send(alice, "DELETE", "/api/users/alice"),
        paused.send(bob, "PUT", "/api/orgs/pair/members/bob", {"role": "member"}),
    )
    with index.api(ADMIN) as api:
        members = api.get("/api/orgs/pair/members").json()
    assert [m["username"] for m in members if m["role"] == "owner"], (statuses, members)
    assert sorted(statuses) == [204, 409], statuses


def test_a_repository_moved_into_an_organisation_as_it_is_deleted_is_not_left_in_no_ones_name(
    paused: Paused,
) -> None:
    # The deletion checked that the organisation held no repository, then deleted it; a
    # repository moved in between stayed under a name nobody held. Held: the organisation's
    # team row.
    index = paused.index
    with index.api(ADMIN) as api:
        assert_status(api.post("/api/orgs", json={"name": "closing"}), 201)
        assert_status(api.post("/api/orgs/closing/teams", json={"name": "last"}), 201)
    with index.registry(ADMIN, "repository:admin/leaving:pull,push") as registry:
        push_image(registry, "admin/leaving", make_image("leaving"), "v1")
    index.catalogued("admin/leaving")
    statuses = paused.between(
        "SELECT 1 FROM teams WHERE name = 'last' FOR UPDATE",
        paused.send(ADMIN, "DELETE", "/api/orgs/closing"),
        paused.send(
            ADMIN, "POST", "/api/repositories/admin/leaving/transfer", {"namespace": "closing"}
        ),
    )
    with index.api(ADMIN) as api:
        assert_status(api.get("/api/repositories/admin/leaving"), 200)
        assert_status(api.get("/api/orgs/closing/members"), 404)
    assert statuses == [204, 404], statuses


def test_an_immutable_tag_pushed_twice_at_once_keeps_the_first_manifest(paused: Paused) -> None:
    # Each push found the tag absent, so nothing to protect, then set it: the second moved
    # the tag the first had just made, and both were answered 201. Held: the repository's row
    # (its tag list's version is written after the tag).
    index, name = paused.index, "admin/frozen"
    first, second = make_image("frozen-1"), make_image("frozen-2")
    with index.registry(ADMIN, f"repository:{name}:pull,push") as registry:
        push_image(registry, name, make_image("frozen-base"), "base")
        push_blobs(registry, name, first, second)
    index.catalogued(name)
    with index.api(ADMIN) as api:
        body = {"patterns": ["v*"]}
        assert_status(api.put(f"/api/repositories/{name}/immutable-tags", json=body), 200)

    def push(image: Any) -> Callable[[], int]:
        def pushed() -> int:
            with index.registry(ADMIN, f"repository:{name}:pull,push") as registry:
                return put_manifest(registry, name, "v1", image).status_code

        return pushed

    statuses = paused.between(
        f"SELECT 1 FROM repositories WHERE name = '{name}' FOR NO KEY UPDATE",
        push(first),
        push(second),
    )
    with index.registry(ADMIN, f"repository:{name}:pull") as registry:
        tagged = registry.head(f"/v2/{name}/manifests/v1", headers={"Accept": first.media_type})
    assert tagged.headers["docker-content-digest"] == first.digest, statuses
    assert statuses == [201, 403], statuses


def test_a_member_removed_from_the_organisation_as_a_team_takes_them_is_in_neither(
    paused: Paused,
) -> None:
    # Adding to a team made sure the user was a member (without holding that row) and then
    # added them; removing them from the organisation in between took away the membership but
    # not the team's place, which was not committed yet: outside the organisation, they kept
    # what the team may do. Held: the team's row (the addition's foreign key reads it).
    index = paused.index
    index.sign_up(("carol", "carol-password-1"))
    with index.api(ADMIN) as api:
        assert_status(api.post("/api/orgs", json={"name": "works"}), 201)
        assert_status(api.post("/api/orgs/works/teams", json={"name": "crew"}), 201)
        assert_status(api.put("/api/orgs/works/members/carol", json={"role": "member"}), 204)
    statuses = paused.between(
        "SELECT 1 FROM teams WHERE name = 'crew' FOR UPDATE",
        paused.send(ADMIN, "PUT", "/api/orgs/works/teams/crew/members/carol"),
        paused.send(ADMIN, "DELETE", "/api/orgs/works/members/carol"),
    )
    with index.api(ADMIN) as api:
        members = [m["username"] for m in api.get("/api/orgs/works/members").json()]
        in_team = api.get("/api/orgs/works/teams/crew/members").json()
    assert statuses == [204, 204], statuses
    assert ("carol" in in_team) == ("carol" in members), (members, in_team)


def test_a_team_given_a_repository_as_it_moves_to_another_namespace_keeps_no_role_on_it(
    paused: Paused,
) -> None:
    # The grant checked that the team was the namespace's organisation's, then wrote the role;
    # a transfer in between (which drops the old organisation's teams) left that team a role
    # on a repository of another namespace. Held: the grant's row-to-be, inserted by the
    # test's connection without its foreign keys (so it holds nothing the transfer needs).
    index = paused.index
    with index.api(ADMIN) as api:
        for org in ("before", "after"):
            assert_status(api.post("/api/orgs", json={"name": org}), 201)
        assert_status(api.post("/api/orgs/before/teams", json={"name": "movers"}), 201)
    with index.registry(ADMIN, "repository:before/app:pull,push") as registry:
        push_image(registry, "before/app", make_image("moving"), "v1")
    index.catalogued("before/app")
    statuses = paused.between(
        "SET session_replication_role = replica;"
        " INSERT INTO collaborators (repository_id, team_id, role)"
        " SELECT repository_settings.id, teams.id, 'read' FROM repository_settings, teams"
        " WHERE repository_settings.name = 'before/app' AND teams.name = 'movers'",
        paused.send(ADMIN, "PUT", f"{APP}/collaborators/teams/movers", {"role": "write"}),
        paused.send(ADMIN, "POST", f"{APP}/transfer", {"namespace": "after"}),
    )
    with index.api(ADMIN) as api:
        roles = api.get("/api/repositories/after/app/collaborators").json()
    assert statuses == [204, 204], statuses
    assert [role for role in roles if role["kind"] == "team"] == [], roles


def test_a_repository_set_up_in_an_organisation_as_it_is_deleted_is_not_left_behind(
    paused: Paused,
) -> None:
    # Settings given to a repository not pushed yet create its row; made while the deletion
    # waited after its count of the organisation's repositories, the row outlived the
    # organisation, in no one's name (and kept the name from sign-up). Held: the team's row.
    olga = ("olga", "olga-password-1")
    index = paused.index
    index.sign_up(olga)
    with index.api(olga) as api:
        assert_status(api.post("/api/orgs", json={"name": "folding"}), 201)
        assert_status(api.post("/api/orgs/folding/teams", json={"name": "last"}), 201)
    statuses = paused.between(
        "SELECT 1 FROM teams WHERE name = 'last' FOR UPDATE",
        paused.send(olga, "DELETE", "/api/orgs/folding"),
        paused.send(olga, "PATCH", "/api/repositories/folding/soon", {"description": "soon"}),
    )
    with index.api(ADMIN) as api:
        assert_status(api.get("/api/repositories/folding/soon"), 404)
    assert statuses == [204, 404], statuses


APP = "/api/repositories/before/app"


def test_a_repository_moved_before_the_index_applied_its_last_push_is_refused_until_it_has(
    paused: Paused,
) -> None:
    # The catalogue applies a push's event after the push commits: a transfer in between left
    # the old name in the index (public, with the tag pushed last, whatever the repository's
    # visibility) and the new name without that tag. Held: the catalogue's endpoint row, so
    # that the event waits.
    index = paused.index
    with index.api(ADMIN) as api:
        assert_status(api.post("/api/orgs", json={"name": "there"}), 201)
    with index.registry(ADMIN, "repository:admin/quick:pull,push") as registry:
        push_image(registry, "admin/quick", make_image("quick-1"), "v1")
    index.catalogued("admin/quick")
    move = {"namespace": "there"}
    with psycopg.connect(paused.libpq) as held:
        held.execute("SELECT 1 FROM event_endpoints WHERE name = '@catalogue' FOR UPDATE")
        with index.registry(ADMIN, "repository:admin/quick:pull,push") as registry:
            push_image(registry, "admin/quick", make_image("quick-2"), "v2")
        with index.api(ADMIN) as api:
            refused = api.post("/api/repositories/admin/quick/transfer", json=move)
        held.rollback()
    assert_error(refused, 409, "CONFLICT")
    assert "has not applied the last pushes to admin/quick" in refused.text, refused.text
    with index.api(ADMIN) as api:

        def moved() -> bool:
            answer = api.post("/api/repositories/admin/quick/transfer", json=move)
            return answer.status_code == 204

        eventually(moved, what="the transfer once the push is applied")
        assert_status(api.get("/api/repositories/admin/quick"), 404)
        tags = api.get("/api/repositories/there/quick/tags").json()["results"]
    assert sorted(tag["name"] for tag in tags) == ["v1", "v2"]
