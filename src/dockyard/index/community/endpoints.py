"""Stars and comments: /api/repositories/<name>/{star,stargazers,comments} and
/api/user/starred. Listings come a bounded page at a time, with a Link to the next."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dockyard.index.community import service
from dockyard.index.community.schemas import (
    CommentOut,
    CommentsPage,
    CommentText,
    Item,
    PageOut,
    StargazerOut,
    StargazersPage,
    StarredOut,
    StarredPage,
)
from dockyard.index.errors import Invalid
from dockyard.index.http import MAX_PAGE, api, body, caller, index_of, no_content, number_param
from dockyard.index.http import signed_in as signed_in_caller
from dockyard.index.openapi import operation
from dockyard.index.repositories.permissions import Identity
from dockyard.oci.names import is_valid_name

PAGING = {"page": "from 1", "per_page": "results per page"}


def _name(request: Request) -> str:
    name: str = request.path_params["name"]
    if not is_valid_name(name):
        raise Invalid(f"{name[:300]!r} is not a repository name")
    return name


def _comment_id(request: Request) -> int:
    return service.comment_id(request.path_params["comment"])


def _page(request: Request) -> service.Page:
    params = request.query_params
    return service.Page(
        number_param(params.get("page"), "page", MAX_PAGE, 1),
        number_param(
            params.get("per_page"), "per_page", service.MAX_PER_PAGE, service.DEFAULT_PER_PAGE
        ),
    )


def _paged(
    request: Request,
    page: service.Page,
    more: bool,
    shape: type[PageOut[Item]],
    items: Sequence[Item],
) -> Response:
    """The page as JSON, with an RFC 5988 Link to the next one when there is one."""
    shown = shape(page=page.number, per_page=page.size, results=list(items))
    headers = {}
    if more and page.number < MAX_PAGE:
        query = urlencode({"page": page.number + 1, "per_page": page.size})
        headers["Link"] = f'<{request.url.path}?{query}>; rel="next"'
    return JSONResponse(shown.model_dump(mode="json"), headers=headers)


async def _writer(request: Request) -> Identity:
    """Stars and comments are the caller's own, not settings: the password, or a personal
    token with the write scope (never a robot or a read token)."""
    who = await signed_in_caller(request)
    who.may_post()
    return who.identity


async def _reader(request: Request) -> Identity | None:
    who = await caller(request, required=False)
    return None if who is None else who.identity


@api
@operation("Star a repository (idempotent)", answers={204: None}, credentials="required")
async def star(request: Request) -> Response:
    who = await _writer(request)
    await service.star(index_of(request).database, who, _name(request))
    return no_content()


@api
@operation("Take one's star back (idempotent)", answers={204: None}, credentials="required")
async def unstar(request: Request) -> Response:
    who = await _writer(request)
    await service.unstar(index_of(request).database, who, _name(request))
    return no_content()


@api
@operation(
    "The repositories the signed-in user starred, newest first",
    answers={200: StarredPage},
    query=PAGING,
    credentials="required",
)
async def starred(request: Request) -> Response:
    who = await signed_in_caller(request)
    page = _page(request)
    found = await service.starred(index_of(request).database, who.identity, page)
    items = [StarredOut.model_validate(s, from_attributes=True) for s in found.items]
    return _paged(request, page, found.more, StarredPage, items)


@api
@operation("Who starred a repository, newest first", answers={200: StargazersPage}, query=PAGING)
async def stargazers(request: Request) -> Response:
    who = await _reader(request)
    page = _page(request)
    found = await service.stargazers(index_of(request).database, who, _name(request), page)
    items = [StargazerOut.model_validate(s, from_attributes=True) for s in found.items]
    return _paged(request, page, found.more, StargazersPage, items)


@api
@operation("A repository's comments, newest first", answers={200: CommentsPage}, query=PAGING)
async def comments(request: Request) -> Response:
    who = await _reader(request)
    page = _page(request)
    found = await service.comments(index_of(request).database, who, _name(request), page)
    items = [CommentOut.model_validate(c, from_attributes=True) for c in found.items]
    return _paged(request, page, found.more, CommentsPage, items)


def _comment(comment: service.Comment, status: int = 200) -> Response:
    shown = CommentOut.model_validate(comment, from_attributes=True)
    return JSONResponse(shown.model_dump(mode="json"), status_code=status)


@api
@operation(
    "Comment on a repository", body=CommentText, answers={201: CommentOut}, credentials="required"
)
async def add_comment(request: Request) -> Response:
    who = await _writer(request)
    form = await body(request, CommentText)
    added = await service.add_comment(index_of(request).database, who, _name(request), form.body)
    return _comment(added, status=201)


@api
@operation(
    "Edit one's comment", body=CommentText, answers={200: CommentOut}, credentials="required"
)
async def edit_comment(request: Request) -> Response:
    who = await _writer(request)
    form = await body(request, CommentText)
    database, name, number = index_of(request).database, _name(request), _comment_id(request)
    return _comment(await service.edit_comment(database, who, name, number, form.body))


@api
@operation("Delete a comment", answers={204: None}, credentials="required")
async def delete_comment(request: Request) -> Response:
    who = await _writer(request)
    database, name, number = index_of(request).database, _name(request), _comment_id(request)
    await service.delete_comment(database, who, name, number)
    return no_content()


_REPOSITORY = "/api/repositories/{name:path}"
# Before /api/repositories/{name:path} in the app's routes: that one would take these paths.
routes = [
    Route(f"{_REPOSITORY}/star", star, methods=["PUT"]),
    Route(f"{_REPOSITORY}/star", unstar, methods=["DELETE"]),
    Route(f"{_REPOSITORY}/stargazers", stargazers, methods=["GET"]),
    Route(f"{_REPOSITORY}/comments", comments, methods=["GET"]),
    Route(f"{_REPOSITORY}/comments", add_comment, methods=["POST"]),
    Route(f"{_REPOSITORY}/comments/{{comment}}", edit_comment, methods=["PATCH"]),
    Route(f"{_REPOSITORY}/comments/{{comment}}", delete_comment, methods=["DELETE"]),
    Route("/api/user/starred", starred, methods=["GET"]),
]
