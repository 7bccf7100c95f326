from __future__ import annotations

import pytest

from dockyard.auth.scopes import CATALOG, Scope, ScopeError, parse_scopes, repository_scope


def test_repository_scope_parses_and_formats_back() -> None:
    scope = Scope.parse("repository:org/app:pull,push")
    assert scope == Scope("repository", "org/app", ("pull", "push"))
    assert str(scope) == "repository:org/app:pull,push"


def test_resource_class_is_kept() -> None:
    scope = Scope.parse("repository(plugin):vieux/sshfs:pull")
    assert (scope.type, scope.resource_class, scope.name) == ("repository", "plugin", "vieux/sshfs")
    assert str(scope) == "repository(plugin):vieux/sshfs:pull"
    assert scope.to_claim() == {
        "type": "repository",
        "name": "vieux/sshfs",
        "class": "plugin",
        "actions": ["pull"],
    }


def test_catalog_scope_is_the_registry_wildcard() -> None:
    assert Scope.parse("registry:catalog:*") == CATALOG
    assert CATALOG.allows("anything")


def test_name_with_a_registry_port_keeps_its_colon() -> None:
    scope = Scope.parse("repository:localhost:5000/team/app:push")
    assert scope.name == "localhost:5000/team/app"
    assert scope.actions == ("push",)


def test_repeated_actions_are_listed_once() -> None:
    assert Scope.parse("repository:a:pull,pull,,push").actions == ("pull", "push")


def test_space_separated_scopes_in_one_value() -> None:
    scopes = parse_scopes(["repository:a:pull repository:b:push", "registry:catalog:*"])
    assert [str(s) for s in scopes] == ["repository:a:pull", "repository:b:push", str(CATALOG)]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "repository",
        "repository:app",
        "repository::pull",
        "repository:app:",
        "repository:app:PULL",
        "repository:app:pull;rm",
        "Repository:app:pull",
        "repository(:app:pull",
        "repository(plugin:app:pull",
        "repo sitory:app:pull",
        "repository:app/:pull",
        "repository:/app:pull",
        "repository:a b:pull",
        "repository:a:b:c:pull",
        "repository:" + "a" * 2000 + ":pull",
        "repository:" + "a" * 256 + ":pull",  # longer than any repository name
    ],
)
def test_malformed_scope_is_refused_with_a_clear_error(text: str) -> None:
    with pytest.raises(ScopeError, match="scope"):
        Scope.parse(text)


def test_access_entry_round_trips_through_the_claim() -> None:
    scope = repository_scope("org/app", "pull", "push")
    assert Scope.from_claim(scope.to_claim()) == scope


@pytest.mark.parametrize(
    "entry",
    [
        "repository:app:pull",
        {"type": "repository"},
        {"type": 1, "name": "app", "actions": ["pull"]},
        {"type": "repository", "name": "app", "actions": "pull"},
        {"type": "repository", "name": "app", "actions": [1]},
        {"type": "repository", "name": "app", "actions": [], "class": 5},
    ],
)
def test_malformed_access_entry_is_refused(entry: object) -> None:
    with pytest.raises(ScopeError):
        Scope.from_claim(entry)


def test_restricting_keeps_only_granted_actions() -> None:
    asked = repository_scope("app", "pull", "push")
    assert asked.restricted_to(["pull"]).actions == ("pull",)
    assert asked.restricted_to(["*"]).actions == ("pull", "push")
    assert asked.restricted_to([]).actions == ()
