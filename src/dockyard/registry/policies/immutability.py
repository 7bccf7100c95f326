"""Immutable tags: patterns (per namespace or repository) whose tags, once pushed, never move
to another manifest and are never deleted, whatever the path (v2 or v1 DELETE, the index's
forms, retention). Checked in the transaction that would move or delete the tag, so a rule is
obeyed by every push that commits after it."""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase

from sqlalchemy import Connection, select

from dockyard.db.locks import hold
from dockyard.db.tables import repositories, tags
from dockyard.registry.errors import ErrorCode, RegistryError
from dockyard.registry.policies import rules

# What a pattern may hold: a tag's characters and the glob's `*`, `?` and `[...]`.
PATTERN_CHARACTERS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-*?[]!"
)
MAX_PATTERN = 128


def check_pattern(pattern: str) -> str | None:
    """What is wrong with a tag pattern, or None."""
    if not 1 <= len(pattern) <= MAX_PATTERN:
        return f"a tag pattern has 1 to {MAX_PATTERN} characters"
    if not set(pattern) <= PATTERN_CHARACTERS:
        return f"{pattern!r} holds characters no tag has (a pattern takes *, ? and [...])"
    return None


def matching(patterns: Iterable[str], tag: str) -> str | None:
    """The first pattern `tag` matches (shell-style, case-sensitive), or None."""
    return next((p for p in patterns if fnmatchcase(tag, p)), None)


def check_move(connection: Connection, name: str, tag: str, digest: str) -> None:
    """DENIED when `tag` exists on another manifest and is immutable."""
    pattern = matching(rules.immutable_patterns(connection, name), tag)
    if pattern is None:
        return
    # Pushes of one immutable tag take turns until each commits: two that both found it
    # absent would otherwise both set it, the second moving what the first had just made.
    hold(connection, f"tag {name}:{tag}")
    current = connection.execute(
        select(tags.c.digest)
        .join(repositories, repositories.c.id == tags.c.repository_id)
        .where(repositories.c.name == name, tags.c.name == tag)
    ).scalar_one_or_none()
    if current is not None and current != digest:
        raise RegistryError(
            ErrorCode.DENIED,
            f"the tag {tag!r} already exists in repository {name} and cannot be overwritten: "
            f"it is immutable (it matches {pattern!r}); push under another tag",
            detail={"tag": tag, "pattern": pattern, "digest": current},
        )


def check_delete(connection: Connection, name: str, tag_names: Iterable[str]) -> None:
    """DENIED when one of these tags of `name` is immutable."""
    wanted = list(tag_names)
    if not wanted:
        return
    patterns = rules.immutable_patterns(connection, name)
    for tag in wanted:
        pattern = matching(patterns, tag)
        if pattern is not None:
            raise RegistryError(
                ErrorCode.DENIED,
                f"the tag {tag!r} of repository {name} is immutable (it matches {pattern!r}) "
                "and cannot be deleted",
                detail={"tag": tag, "pattern": pattern},
            )


def tags_on(connection: Connection, name: str, digest: str | None = None) -> list[str]:
    """The tags of `name` (those on `digest` only, when given)."""
    query = (
        select(tags.c.name)
        .join(repositories, repositories.c.id == tags.c.repository_id)
        .where(repositories.c.name == name)
    )
    if digest is not None:
        query = query.where(tags.c.digest == digest)
    return list(connection.execute(query).scalars())
