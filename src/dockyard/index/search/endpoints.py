"""`GET /v1/search` (what `docker search` and `podman search` call) and `GET /api/search`.

/v1/search takes no credentials (anonymous sees the public repositories), Basic credentials, or
a Bearer token the token service issued for `registry:catalog:search`: docker never retries a
401 there, so only credentials that are wrong get one.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dockyard.auth.access import Grant
from dockyard.auth.credentials import BearerToken, MalformedCredentials, parse_authorization
from dockyard.auth.tokens import InvalidToken
from dockyard.index.errors import Invalid, Unauthorized
from dockyard.index.http import MAX_PAGE, api, caller_subject, index_of, number_param
from dockyard.index.identity import account_of
from dockyard.index.openapi import operation
from dockyard.index.search import schemas, service
from dockyard.oci.names import is_valid_name
from dockyard.ratelimits.accounts import check_account


@api
@operation(
    "Search public repositories and the caller's, as docker search asks",
    answers={200: schemas.V1Answer},
    query={"q": "the text searched for", "n": "results per page", "page": "from 1"},
)
async def v1_search(request: Request) -> Response:
    params = request.query_params
    query = service.Query(
        text=params.get("q", ""),
        per_page=number_param(params.get("n"), "n", service.MAX_PER_PAGE, 25),
        page=number_param(params.get("page"), "page", MAX_PAGE, 1),
    )
    subject = await _searcher(request)
    found = await service.search(index_of(request).database, None, query, subject)
    results = [
        schemas.V1Result(
            name=hit.name,
            description=hit.description,
            star_count=hit.star_count,
            is_official=hit.is_official,
            is_automated=False,
            pull_count=hit.pull_count,
        )
        for hit in found.hits
    ]
    answer = schemas.V1Answer(
        num_pages=found.pages,
        num_results=found.total,
        results=results,
        page_size=query.per_page,
        query=query.text,
        page=query.page,
    )
    return JSONResponse(answer.model_dump())


@api
@operation(
    "Search repositories the caller may see",
    answers={200: schemas.Answer},
    query={
        "q": "the text searched for",
        "namespace": "only this namespace's repositories",
        "sort": ", ".join(service.ORDERS),
        "page": "from 1",
        "per_page": "results per page",
    },
)
async def api_search(request: Request) -> Response:
    params = request.query_params
    namespace = params.get("namespace") or None
    if namespace is not None and not is_valid_name(namespace):
        raise Invalid(f"{namespace[:80]!r} is not a namespace")
    query = service.Query(
        text=params.get("q", ""),
        per_page=number_param(params.get("per_page"), "per_page", service.MAX_PER_PAGE, 25),
        page=number_param(params.get("page"), "page", MAX_PAGE, 1),
        namespace=namespace,
        order=params.get("sort") or "relevance",
    )
    subject = await caller_subject(request)
    found = await service.search(index_of(request).database, None, query, subject)
    hits = [
        schemas.Hit(
            name=hit.name,
            namespace=hit.namespace,
            description=hit.description,
            visibility=hit.visibility,
            star_count=hit.star_count,
            pull_count=hit.pull_count,
            is_official=hit.is_official,
        )
        for hit in found.hits
    ]
    answer = schemas.Answer(
        query=query.text,
        namespace=namespace,
        sort=query.order,
        page=query.page,
        per_page=query.per_page,
        total=found.total,
        pages=found.pages,
        results=hits,
    )
    return JSONResponse(answer.model_dump())


async def _searcher(request: Request) -> str | None:
    """Who searches (the subject the search looks up): anonymous, Basic credentials, or a
    Bearer token's subject."""
    try:
        credentials = parse_authorization(request.headers.get("authorization"))
    except MalformedCredentials as exc:
        raise Unauthorized(str(exc)) from None
    if not isinstance(credentials, BearerToken):
        return await caller_subject(request)
    index = index_of(request)
    if index.verifier is None:
        raise Unauthorized("this server verifies no tokens")
    try:
        claims = index.verifier.verify(credentials.token)
    except InvalidToken as exc:
        raise Unauthorized(str(exc)) from None
    if not Grant(claims.subject, claims.access).allows("registry", "catalog", "search"):
        return None  # a token for something else: search as anonymous
    if not claims.subject:
        return None
    await check_account(request.scope, account_of(claims.subject))
    return claims.subject


routes = [
    Route("/v1/search", v1_search, methods=["GET"]),
    Route("/api/search", api_search, methods=["GET"]),
]
