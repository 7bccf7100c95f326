"""Who may see and set storage policies, over the registry's policy tables
(dockyard.registry.policies): site administrators set quotas; a namespace's administrators
(and site administrators) read its usage and quota and set its immutable tags and retention;
a repository's administrators set its own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import Connection

from dockyard.auth.scopes import PULL
from dockyard.config import QuotaSettings
from dockyard.db.engine import Database
from dockyard.index.errors import Forbidden, Invalid, NotFound
from dockyard.index.names import LIBRARY, canonical, is_valid_account_name, namespace_of
from dockyard.index.organisations import repository as organisations
from dockyard.index.policies.schemas import (
    ImmutableTags,
    QuotaChange,
    QuotaOut,
    RepositoryUsageOut,
    RetentionPolicy,
    UsageOut,
)
from dockyard.index.repositories import repository as repositories
from dockyard.index.repositories.permissions import Identity, namespace_role
from dockyard.index.repositories.service import access_in
from dockyard.registry.policies import quotas, rules, usage
from dockyard.registry.policies.immutability import check_pattern
from dockyard.registry.policies.rules import ALL, Limits, Policy

T = TypeVar("T")


class Scope:
    """A namespace (`repository` ALL) or one repository, as the rules store it."""

    def __init__(self, namespace: str, repository: str = ALL) -> None:
        self.namespace = namespace
        self.repository = repository

    @classmethod
    def of_namespace(cls, namespace: str) -> Scope:
        if namespace != LIBRARY and not is_valid_account_name(namespace):
            raise Invalid(f"{namespace[:100]!r} is not a namespace")
        return cls(namespace)

    @classmethod
    def of_repository(cls, name: str) -> Scope:
        return cls(namespace_of(name), canonical(name))

    def administered(self, connection: Connection, identity: Identity) -> None:
        """Forbidden or NotFound unless `identity` administers this scope."""
        if self.repository == ALL:
            roles = organisations.roles_of_user(connection, identity.user_id)
            if namespace_role(identity, self.namespace, roles) != "admin":
                raise Forbidden(f"only administrators of {self.namespace} may do this")
            return
        access = access_in(connection, identity, [self.repository])[self.repository]
        if access.role != "admin":
            if PULL in access.actions:
                raise Forbidden(f"only administrators of {self.repository} may do this")
            raise NotFound(f"no repository {self.repository!r}")


async def _administered(
    database: Database, identity: Identity, scope: Scope, work: Callable[[Connection], T]
) -> T:
    def run(connection: Connection) -> T:
        scope.administered(connection, identity)
        return work(connection)

    return await database.run(run)


async def usage_of(
    database: Database, identity: Identity, namespace: str, defaults: QuotaSettings
) -> UsageOut:
    scope = Scope.of_namespace(namespace)

    def read(connection: Connection) -> UsageOut:
        found = usage.namespace_usage(connection, namespace)
        limits = quotas.effective(connection, namespace, defaults)
        return UsageOut(
            namespace=namespace,
            bytes=found.bytes,
            repository_count=found.repository_count,
            max_bytes=limits.max_bytes,
            max_repositories=limits.max_repositories,
            repositories=[
                RepositoryUsageOut(name=r.name, bytes=r.bytes) for r in found.repositories
            ],
        )

    return await _administered(database, identity, scope, read)


@dataclass(frozen=True, slots=True)
class NamespaceStorage:
    namespace: str
    bytes: int  # each distinct blob and manifest of its repositories once
    repository_count: int  # repositories holding at least one manifest
    limits: Limits  # in force: the namespace's own or the configured defaults


async def storage_page(
    database: Database, identity: Identity, start: str, per_page: int, defaults: QuotaSettings
) -> tuple[list[NamespaceStorage], str | None]:
    """Site administrators: the usage and quotas of `per_page` namespaces from `start` on, in
    name order, and the namespace the next page starts at. Computed for this page only: a
    namespace's bytes cost a read of its links (decision 0022), so no page reads them all."""
    if not identity.is_admin:
        raise NotFound("no such page")

    def read(connection: Connection) -> tuple[list[NamespaceStorage], str | None]:
        found = repositories.namespaces_from(connection, start, per_page + 1)
        shown = [
            NamespaceStorage(
                namespace,
                usage.namespace_bytes(connection, namespace),
                usage.namespace_repositories(connection, namespace),
                quotas.effective(connection, namespace, defaults),
            )
            for namespace in found[:per_page]
        ]
        return shown, found[per_page] if len(found) > per_page else None

    return await database.run(read)


async def quota_of(
    database: Database,
    identity: Identity,
    namespace: str,
    defaults: QuotaSettings,
    change: QuotaChange | None = None,
    reset: bool = False,
) -> QuotaOut:
    """The namespace's quota, after setting it to `change` (or back to the defaults with
    `reset`): site administrators only."""
    scope = Scope.of_namespace(namespace)
    if (change is not None or reset) and not identity.is_admin:
        raise Forbidden("only site administrators set quotas")

    def run(connection: Connection) -> QuotaOut:
        if change is not None or reset:
            wanted = None
            if change is not None and (change.max_bytes, change.max_repositories) != (None, None):
                wanted = Limits(change.max_bytes, change.max_repositories)
            rules.set_quota(connection, namespace, wanted)
        own = rules.quota(connection, namespace)
        limits = quotas.effective(connection, namespace, defaults)
        return QuotaOut(
            namespace=namespace,
            max_bytes=limits.max_bytes,
            max_repositories=limits.max_repositories,
            own=None
            if own is None
            else QuotaChange(max_bytes=own.max_bytes, max_repositories=own.max_repositories),
        )

    return await _administered(database, identity, scope, run)


async def immutable_tags(
    database: Database, identity: Identity, scope: Scope, change: ImmutableTags | None = None
) -> ImmutableTags:
    if change is not None:
        for pattern in change.patterns:
            _check(pattern)

    def run(connection: Connection) -> ImmutableTags:
        if change is not None:
            wanted = sorted(set(change.patterns))
            rules.set_patterns(connection, scope.namespace, scope.repository, wanted)
        found = rules.scoped_patterns(connection, scope.namespace, scope.repository)
        return ImmutableTags(patterns=found)

    return await _administered(database, identity, scope, run)


async def retention(
    database: Database,
    identity: Identity,
    scope: Scope,
    change: RetentionPolicy | None = None,
    remove: bool = False,
) -> RetentionPolicy | None:
    if change is not None:
        for pattern in (change.match, *change.protect):
            _check(pattern)
        if change.keep_last is None and change.keep_days is None:
            raise Invalid("a retention policy keeps something: set keep_last or keep_days")

    def run(connection: Connection) -> RetentionPolicy | None:
        if change is not None or remove:
            policy = None
            if change is not None:
                policy = Policy(
                    scope.namespace,
                    scope.repository,
                    change.keep_last,
                    change.keep_days,
                    change.match,
                    tuple(sorted(set(change.protect))),
                )
            rules.set_policy(connection, scope.namespace, scope.repository, policy)
        found = rules.policy(connection, scope.namespace, scope.repository)
        if found is None:
            return None
        return RetentionPolicy(
            keep_last=found.keep_last,
            keep_days=found.keep_days,
            match=found.match,
            protect=list(found.protect),
        )

    return await _administered(database, identity, scope, run)


def _check(pattern: str) -> None:
    problem = check_pattern(pattern)
    if problem is not None:
        raise Invalid(problem)


async def repository_bytes(database: Database, name: str) -> int | None:
    """Bytes the registry holds for `name` (None: it holds no such repository)."""
    return await database.run(usage.repository_bytes, canonical(name))
