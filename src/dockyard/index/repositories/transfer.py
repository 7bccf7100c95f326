"""Moving a repository to another namespace: `POST /api/repositories/<name>/transfer`.

The index and this server's registry share one database (the index's tables are on the
registry's MetaData), so the settings row and the registry's `repositories` row are renamed in
one transaction: tags, manifests, blob links and uploads follow by id, and no blob moves
(blobs are stored by digest). See docs/decisions/0018-account-lifecycle.md for what does not
follow.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Connection, delete, update
from sqlalchemy.exc import IntegrityError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dockyard.config import QuotaSettings
from dockyard.db.engine import Database
from dockyard.db.tables import repositories as registry_repositories
from dockyard.index.accounts import repository as accounts
from dockyard.index.catalogue.receiver import LOCAL_CATALOGUE
from dockyard.index.errors import Conflict, Forbidden, Invalid, NotFound
from dockyard.index.http import api, body, index_of, no_content, signed_in
from dockyard.index.names import LIBRARY, canonical, namespace_of
from dockyard.index.openapi import operation
from dockyard.index.organisations import repository as organisations
from dockyard.index.policies.endpoints import quota_defaults
from dockyard.index.repositories import repository
from dockyard.index.repositories.permissions import Identity, namespace_role
from dockyard.index.repositories.service import access_in
from dockyard.index.tables import collaborators, repository_settings
from dockyard.oci.names import is_valid_name
from dockyard.registry.events import outbox
from dockyard.registry.metadata import repository_id
from dockyard.registry.policies import quotas


class Transfer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    namespace: str


async def transfer(
    database: Database,
    actor: Identity,
    name: str,
    namespace: str,
    quota_defaults: QuotaSettings | None = None,
) -> str:
    """The repository's new (canonical) name. The actor administers the repository and the
    target namespace; the target name is free in the index and in the registry; the target
    namespace stays within its quotas (`quota_defaults`: the configured ones; None, unchecked),
    as a push there would."""
    source = canonical(name)
    if LIBRARY in (namespace_of(source), namespace):
        # The registry keeps official images under the names clients send (`ubuntu`), which
        # a rename could not follow for every client: they stay where they are.
        raise Invalid("official images (library/...) are not transferred")
    target = f"{namespace}/{source.split('/', 1)[1]}"
    if not is_valid_name(target):
        raise Invalid(f"{target!r} is not a repository name")

    def move(connection: Connection) -> str:
        access = access_in(connection, actor, [source])[source]
        row = repository.settings_of(connection, [source]).get(source)
        if row is None or not access.actions:
            raise NotFound(f"no repository {name!r}")
        if access.role != "admin":
            raise Forbidden(f"only administrators of {source} may transfer it")
        _administers(connection, actor, namespace)
        if repository.settings_of(connection, [target]) or repository_id(connection, target):
            raise Conflict(f"{target} exists: delete it or choose another namespace")
        held = repository_id(connection, source)
        if held is None and row.last_push_at is not None:
            raise Conflict(
                f"{source} is held by another registry that reports to this index:"
                " it cannot be renamed from here"
            )
        if held is not None:
            limited = None
            if quota_defaults is not None:
                limited = quotas.hold_for_moving_in(connection, namespace, quota_defaults)
            connection.execute(
                update(registry_repositories)
                .where(registry_repositories.c.id == held)
                .values(name=target)
            )
            excess = limited and quotas.excess_after_moving_in(connection, limited, source)
            if excess:
                raise Conflict(excess)  # rolls the rename back
            # Read once the rename holds the registry's row (a push in the repository commits
            # first): an event the catalogue applied after the rename recreated the old name
            # in the index, with the tags pushed last, which the new name then lacked.
            if outbox.pending_about(connection, LOCAL_CATALOGUE, source):
                raise Conflict(
                    f"the index has not applied the last pushes to {source} yet: try again"
                    " in a moment"
                )
        connection.execute(
            update(repository_settings)
            .where(repository_settings.c.id == row.id)
            .values(name=target, namespace=namespace)
        )
        # Teams belong to the old namespace's organisation; users keep their roles.
        connection.execute(
            delete(collaborators).where(
                collaborators.c.repository_id == row.id, collaborators.c.team_id.is_not(None)
            )
        )
        return target

    try:
        return await database.run(move)
    except IntegrityError:
        # Taken between the look and the rename (another transfer, a push, a mirror's cache):
        # the registry's name, or the index's, is unique.
        raise Conflict(f"{target} exists: delete it or choose another namespace") from None


def _administers(connection: Connection, actor: Identity, namespace: str) -> None:
    # Held until the move commits: the namespace's user or organisation is not deleted
    # meanwhile (its deletion, refused while it holds repositories, would not see this one).
    if not accounts.lock_namespace(connection, namespace, share=True):
        raise NotFound(f"no user or organisation {namespace!r}")
    roles = organisations.roles_of_user(connection, actor.user_id)
    if namespace_role(actor, namespace, roles) != "admin":
        raise Forbidden(f"only administrators of {namespace} may move repositories into it")


@api
@operation(
    "Move a repository to another namespace",
    body=Transfer,
    answers={204: None},
    credentials="required",
)
async def endpoint(request: Request) -> Response:
    who = await signed_in(request)
    who.may_change()
    form = await body(request, Transfer)
    name: str = request.path_params["name"]
    if not is_valid_name(name):
        raise Invalid(f"{name!r} is not a repository name")
    database = index_of(request).database
    await transfer(database, who.identity, name, form.namespace, quota_defaults(request))
    return no_content()


routes = [Route("/api/repositories/{name:path}/transfer", endpoint, methods=["POST"])]
