"""Quotas per namespace: bytes stored (as usage.py counts them) and repositories holding a
manifest. A push that would exceed one is refused with DENIED, saying which quota and by how
much, before its bytes are stored when their size is known (an upload request's
Content-Length, a finish's session), otherwise at the manifest; nothing half-stored stays
visible (the refused upload's session is ended).

Limits come from the namespace's own row (set by site administrators), a NULL field or no row
meaning `registry.quotas.*`. The early checks (before bytes are received) only spare the
client an upload; the binding ones run in the transaction that records the blob, the mount or
the manifest, holding the namespace (`hold`) from before usage is read until the commit: of
pushes racing to a namespace's last bytes, on any number of processes or nodes, one passes
(docs/decisions/0022-storage-accounting.md)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from dockyard.config import QuotaSettings
from dockyard.db.engine import Database
from dockyard.db.locks import hold
from dockyard.registry.errors import ErrorCode, RegistryError
from dockyard.registry.policies import rules, usage
from dockyard.registry.policies.rules import Limits


def human(size: int) -> str:
    """1536 → "1.5 KiB", as Harbor words its quota messages."""
    amount, unit = float(size), "B"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if amount < 1024 or unit == "TiB":
            break
        amount /= 1024
    return f"{size} B" if unit == "B" else f"{amount:.1f} {unit}"


def effective(connection: Connection, namespace: str, defaults: QuotaSettings) -> Limits:
    """The limits in force: the namespace's own, else the configured defaults."""
    own = rules.quota(connection, namespace) or Limits(None, None)
    return Limits(
        _in_force(own.max_bytes, defaults.max_bytes),
        _in_force(own.max_repositories, defaults.max_repositories),
    )


def _in_force(own: int | None, default: int | None) -> int | None:
    if own is None:
        return default
    return None if own == rules.UNLIMITED_VALUE else own


def check_bytes(
    connection: Connection,
    name: str,
    added: int,
    defaults: QuotaSettings,
    digest: str | None = None,
) -> None:
    """DENIED if storing `added` more bytes in `name` exceeds its namespace's byte quota; a
    blob (`digest`) another repository of the namespace links already adds nothing."""
    namespace = rules.namespace_of(name)
    limit = effective(connection, namespace, defaults).max_bytes
    if limit is None:
        return
    # The usage read next cannot change before this transaction's writes commit.
    hold(connection, namespace)
    if digest is not None and usage.namespace_links(connection, namespace, digest):
        return
    used = usage.namespace_bytes(connection, namespace)
    if used + added <= limit:
        return
    raise RegistryError(
        ErrorCode.DENIED,
        f"storage quota exceeded: adding {human(added)} to namespace {namespace}, whose usage "
        f"is {human(used)}, would exceed its limit of {human(limit)} by "
        f"{human(used + added - limit)}",
        detail=_detail("bytes", namespace, limit, used, added),
    )


def check_new_repository(connection: Connection, name: str, defaults: QuotaSettings) -> None:
    """DENIED if `name` holds no manifest yet and one more repository would exceed its
    namespace's repository quota."""
    namespace = rules.namespace_of(name)
    limit = effective(connection, namespace, defaults).max_repositories
    if limit is None:
        return
    # The usage read next cannot change before this transaction's writes commit.
    hold(connection, namespace)
    if usage.holds_manifests(connection, name):
        return
    used = usage.namespace_repositories(connection, namespace)
    if used + 1 <= limit:
        return
    raise RegistryError(
        ErrorCode.DENIED,
        f"repository quota exceeded: a new repository {name} would make {used + 1} in "
        f"namespace {namespace}, over its limit of {limit} by {used + 1 - limit}",
        detail=_detail("repositories", namespace, limit, used, 1),
    )


@dataclass(frozen=True)
class NamespaceHeld:
    """A namespace's limits and usage, read with the namespace held (`hold`) for the rest of
    the transaction: what a repository moved in (a transfer) is measured against."""

    namespace: str
    limits: Limits
    bytes: int
    repositories: int


def hold_for_moving_in(
    connection: Connection, namespace: str, defaults: QuotaSettings
) -> NamespaceHeld | None:
    """None when the namespace has no limit."""
    limits = effective(connection, namespace, defaults)
    if limits.max_bytes is None and limits.max_repositories is None:
        return None
    hold(connection, namespace)
    return NamespaceHeld(
        namespace,
        limits,
        usage.namespace_bytes(connection, namespace),
        usage.namespace_repositories(connection, namespace),
    )


def excess_after_moving_in(connection: Connection, held: NamespaceHeld, name: str) -> str | None:
    """What the repository `name`, just moved into `held`'s namespace (in this transaction),
    takes it past, in words; None when within its limits (or it adds nothing)."""
    namespace, limits = held.namespace, held.limits
    repositories = usage.namespace_repositories(connection, namespace)
    limit = limits.max_repositories
    if limit is not None and repositories > held.repositories and repositories > limit:
        return (
            f"repository quota exceeded: moving {name} in would make {repositories} "
            f"repositories in namespace {namespace}, over its limit of {limit} by "
            f"{repositories - limit}"
        )
    stored = usage.namespace_bytes(connection, namespace)
    limit = limits.max_bytes
    if limit is not None and stored > held.bytes and stored > limit:
        return (
            f"storage quota exceeded: moving {name} in adds {human(stored - held.bytes)} to "
            f"namespace {namespace}, whose usage is {human(held.bytes)}, which would exceed its "
            f"limit of {human(limit)} by {human(stored - limit)}"
        )
    return None


def _detail(kind: str, namespace: str, limit: int, used: int, added: int) -> dict[str, object]:
    return {
        "quota": kind,
        "namespace": namespace,
        "limit": limit,
        "usage": used,
        "requested": added,
        "excess": used + added - limit,
    }


@dataclass(frozen=True)
class Quotas:
    """The early checks the push paths call, each one transaction; `defaults` go to the
    binding ones."""

    database: Database
    defaults: QuotaSettings

    async def before_bytes(self, name: str, added: int, digest: str | None = None) -> None:
        await self.database.run(check_bytes, name, added, self.defaults, digest)

    async def before_repository(self, name: str) -> None:
        await self.database.run(check_new_repository, name, self.defaults)
