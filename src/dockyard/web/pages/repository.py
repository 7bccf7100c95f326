"""`/r/<name>`: a repository's descriptions, pull command, tags, stars and comments; the forms
that star it and write, edit and delete comments."""

from __future__ import annotations

import urllib.parse

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dockyard.auth.scopes import DELETE
from dockyard.index.catalogue import service as catalogue
from dockyard.index.community import service as community
from dockyard.index.errors import NotFound
from dockyard.index.repositories import service as repositories
from dockyard.oci.names import is_valid_name
from dockyard.web.context import web_of
from dockyard.web.http import choice, form, number, page, redirect, render, signed_in, viewer

TAGS_PER_PAGE = 25
COMMENTS_PER_PAGE = 25


def repository_name(request: Request) -> str:
    name: str = request.path_params["name"]
    if not is_valid_name(name):
        raise NotFound(f"no repository {name[:200]!r}")
    return name


def url_of(name: str) -> str:
    return f"/r/{urllib.parse.quote(name)}"


@page
async def show(request: Request) -> Response:
    name = repository_name(request)
    database = web_of(request).index.database
    who = await viewer(request)
    info = await repositories.info(database, who, name)  # NotFound unless `who` may pull
    order = choice(request, "sort", catalogue.TAG_ORDERS, "last_push")
    tag_page = number(request, "page")
    tags = await catalogue.tags(database, who, name, tag_page, TAGS_PER_PAGE, order)
    comment_page = number(request, "comments")
    comments = await community.comments(
        database, who, name, community.Page(comment_page, COMMENTS_PER_PAGE)
    )
    starred = who is not None and await community.has_starred(database, who, name)
    may_moderate = False
    if who is not None:
        allowed = await repositories.actions(database, who, [name])
        may_moderate = DELETE in allowed[name]
    host = request.headers.get("host") or request.url.netloc
    pull_name = name.removeprefix("library/") if name.count("/") == 1 else name
    return await render(
        request,
        "repository.html",
        name=name,
        url=url_of(name),
        info=info,
        tags=tags,
        tag_order=order,
        tag_page=tag_page,
        tag_pages=max(1, -(-tags.total // TAGS_PER_PAGE)),
        comments=comments,
        comment_page=comment_page,
        starred=starred,
        may_moderate=may_moderate,
        pull_command=f"docker pull {host}/{pull_name}",
    )


@page
async def star(request: Request) -> Response:
    name = repository_name(request)
    who = await signed_in(request)
    database = web_of(request).index.database
    if (await form(request)).get("star") == "0":
        await community.unstar(database, who, name)
    else:
        await community.star(database, who, name)
    return redirect(url_of(name))


@page
async def add_comment(request: Request) -> Response:
    name = repository_name(request)
    who = await signed_in(request)
    text = (await form(request)).get("body", "")
    await community.add_comment(web_of(request).index.database, who, name, text)
    return redirect(f"{url_of(name)}#comments")


@page
async def edit_comment(request: Request) -> Response:
    name = repository_name(request)
    who = await signed_in(request)
    text = (await form(request)).get("body", "")
    database = web_of(request).index.database
    await community.edit_comment(database, who, name, _comment_id(request), text)
    return redirect(f"{url_of(name)}#comments")


@page
async def delete_comment(request: Request) -> Response:
    name = repository_name(request)
    who = await signed_in(request)
    database = web_of(request).index.database
    await community.delete_comment(database, who, name, _comment_id(request))
    return redirect(f"{url_of(name)}#comments")


def _comment_id(request: Request) -> int:
    return community.comment_id(request.path_params["comment"])


# The forms before the page: {name:path} would take `<name>/-/star` as a repository's name.
routes = [
    Route("/r/{name:path}/-/star", star, methods=["POST"]),
    Route("/r/{name:path}/-/comments", add_comment, methods=["POST"]),
    Route("/r/{name:path}/-/comments/{comment}/edit", edit_comment, methods=["POST"]),
    Route("/r/{name:path}/-/comments/{comment}/delete", delete_comment, methods=["POST"]),
    Route("/r/{name:path}", show, methods=["GET"]),
]
