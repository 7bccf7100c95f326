"""The index's rules: namespaces, roles, visibility and token caps, on a real SQLite database."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.config import Settings
from dockyard.db.engine import Database
from dockyard.db.migrate import upgrade
from dockyard.index.accounts.service import User, create_user
from dockyard.index.errors import Forbidden, Invalid, NotFound
from dockyard.index.limits import AccountLimits
from dockyard.index.names import canonical, namespace_of
from dockyard.index.organisations import service as organisations
from dockyard.index.repositories import service as repositories
from dockyard.index.repositories.permissions import (
    Identity,
    allowed_actions,
    highest,
    namespace_role,
)
from dockyard.index.tokens.service import actions_of, parse_scopes

ALL = frozenset({"pull", "push", "delete"})
LIMITS = AccountLimits.of(Settings())


def test_single_component_names_are_in_the_library_namespace() -> None:
    assert canonical("ubuntu") == "library/ubuntu"
    assert canonical("acme/app") == "acme/app"
    assert namespace_of("ubuntu") == "library"
    assert namespace_of("acme/team/app") == "acme"


def test_users_own_their_namespace_and_org_owners_theirs() -> None:
    alice = Identity(1, "alice", False)
    assert namespace_role(alice, "alice", {}) == "admin"
    assert namespace_role(alice, "bob", {}) is None
    assert namespace_role(alice, "acme", {"acme": "owner"}) == "admin"
    assert namespace_role(alice, "acme", {"acme": "member"}) is None
    assert namespace_role(alice, "library", {}) is None
    assert namespace_role(Identity(2, "root", True), "library", {}) == "admin"
    assert namespace_role(None, "alice", {}) is None


def test_public_repositories_are_pullable_by_anyone_private_only_with_a_role() -> None:
    assert allowed_actions(None, "public", None) == {"pull"}
    assert allowed_actions(None, "private", None) == set()
    assert allowed_actions(None, None, None) == set()  # unknown: like private
    assert allowed_actions(None, "private", "read") == {"pull"}
    assert allowed_actions(None, "private", "write") == {"pull", "push"}
    assert allowed_actions(None, "private", "admin") == ALL


def test_token_scopes_cap_the_owner() -> None:
    capped = Identity(1, "alice", True, actions_of(parse_scopes("read")))
    assert allowed_actions(capped, "private", "admin") == {"pull"}
    writer = Identity(1, "alice", True, actions_of(parse_scopes(["write", "delete"])))
    assert allowed_actions(writer, "private", "admin") == ALL
    assert allowed_actions(writer, "private", "read") == {"pull"}
    with pytest.raises(Invalid):
        parse_scopes("read,admin")


def test_highest_role_wins() -> None:
    assert highest([None, "read", "admin", "write"]) == "admin"
    assert highest([None]) is None


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'index.db'}")
    upgrade(database.engine)
    yield database
    database.dispose()


def _user(database: Database, name: str, admin: bool = False) -> User:
    return asyncio.run(create_user(database, name, f"{name}@example.com", "long-password", admin))


def _identity(user: User) -> Identity:
    return Identity(user.id, user.username, user.is_admin)


def test_team_roles_reach_team_members_only(database: Database) -> None:
    owner, tom, mia = (_user(database, n) for n in ("owner", "tom", "mia"))

    async def scenario() -> None:
        await organisations.create_organisation(database, "acme", owner, None)
        await organisations.create_team(database, owner, "acme", "devs", LIMITS)
        await organisations.add_team_member(database, owner, "acme", "devs", "tom")
        await organisations.set_member(database, owner, "acme", "mia", "member")
        await repositories.update(
            database, _identity(owner), "acme/app", "public", visibility="private"
        )
        await repositories.set_collaborator(
            database, _identity(owner), "acme/app", "public", "write", team="devs"
        )
        found = await repositories.actions(database, _identity(tom), ["acme/app"])
        assert found["acme/app"] == {"pull", "push"}
        found = await repositories.actions(database, _identity(mia), ["acme/app"])
        assert found["acme/app"] == set()
        with pytest.raises(NotFound):  # mia cannot even see it
            await repositories.collaborators(database, _identity(mia), "acme/app", "public")
        with pytest.raises(Forbidden):  # tom sees it but does not administer it
            await repositories.collaborators(database, _identity(tom), "acme/app", "public")

    asyncio.run(scenario())


def test_a_granted_push_creates_nothing(database: Database) -> None:
    alice = _identity(_user(database, "alice"))

    async def scenario() -> None:
        found = await repositories.actions(database, alice, ["alice/new"])
        assert found["alice/new"] == {"pull", "push", "delete"}
        # Until its first push (the catalogue's event), the index does not know it.
        assert await repositories.readable(database, None, ["alice/new"]) == []
        with pytest.raises(NotFound):
            await repositories.info(database, alice, "alice/new")

    asyncio.run(scenario())
