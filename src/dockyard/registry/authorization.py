"""The registry's side of access control: which scope a request needs, and the 401 when its
credentials do not carry it. routes.py calls this for every route; handlers only ever ask
`may_pull` (a cross-repository mount's source).
"""

from __future__ import annotations

from starlette.requests import Request

from dockyard.auth.access import (
    INSUFFICIENT_SCOPE,
    NOTHING,
    AccessController,
    Grant,
    Unauthenticated,
)
from dockyard.auth.scopes import DELETE, PULL, PUSH, Scope, repository_scope
from dockyard.ratelimits.accounts import check_account
from dockyard.registry.errors import ErrorCode, RegistryError

# Where the request's Grant is kept for the handlers (the ASGI scope, not a header).
GRANT_KEY = "dockyard.grant"


def repository_actions(path: str, method: str) -> tuple[str, ...]:
    """Distribution's mapping: reads pull; writes pull and push; DELETE delete. Every upload
    request needs push, whatever its method: only a pusher has an upload session."""
    if path.startswith("blobs/uploads"):
        return (PULL, PUSH)
    if method in ("GET", "HEAD"):
        return (PULL,)
    if method == "DELETE":
        return (DELETE,)
    return (PULL, PUSH)


async def authorize(
    request: Request, access: AccessController, needed: Scope | None, direct: bool = False
) -> Grant:
    """The request's Grant if it covers `needed` (None: any authenticated caller); else 401.
    `direct`: a v1 request, whose credentials may be a password or none (direct_grant)."""
    authorization = request.headers.get("authorization")
    try:
        if direct and needed is not None:
            address = request.client.host if request.client is not None else "unknown"
            grant = await access.direct_grant(authorization, needed, address)
        else:
            grant = await access.grant(authorization)
    except Unauthenticated as exc:
        raise unauthorized(request, access, needed, exc.message, exc.error) from None
    if needed is not None and not grant.covers(needed):
        message = "access to the requested resource is not authorized"
        raise unauthorized(request, access, needed, message, INSUFFICIENT_SCOPE)
    request.scope[GRANT_KEY] = grant
    await check_account(request.scope, grant.subject)
    return grant


def unauthorized(
    request: Request,
    access: AccessController,
    needed: Scope | None,
    message: str,
    error: str | None,
) -> RegistryError:
    challenge = access.challenge(str(request.base_url), needed, error)
    detail = None
    if needed is not None:
        # The shape of the spec's example: one entry per action asked for.
        detail = [{"Type": needed.type, "Name": needed.name, "Action": a} for a in needed.actions]
    return RegistryError(
        ErrorCode.UNAUTHORIZED, message, detail=detail, headers={"WWW-Authenticate": challenge}
    )


def grant_of(request: Request) -> Grant:
    grant: Grant = request.scope.get(GRANT_KEY, NOTHING)
    return grant


def may_pull(request: Request, name: str) -> bool:
    """Whether this request's credentials may read repository `name`."""
    return grant_of(request).covers(repository_scope(name, PULL))
