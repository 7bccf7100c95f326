"""`/r/<name>/-/tags/<tag>`: a tag's manifest (or index and its platforms), the image config,
its layers and the referrers (signatures, SBOMs, other artifacts) by artifact type."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dockyard.auth.scopes import DELETE
from dockyard.index.catalogue import service as catalogue
from dockyard.index.errors import NotFound
from dockyard.index.repositories import service as repositories
from dockyard.oci.names import is_valid_tag
from dockyard.web import image
from dockyard.web.context import web_of
from dockyard.web.http import page, render, viewer
from dockyard.web.pages.repository import repository_name, url_of


def tag_of(request: Request, name: str) -> str:
    """The tag in the path; one that breaks the grammar is no tag of `name`."""
    tag: str = request.path_params["tag"]
    if not is_valid_tag(tag):
        raise NotFound(f"{name} has no tag {tag[:130]!r}")
    return tag


@page
async def show(request: Request) -> Response:
    name = repository_name(request)
    tag_name = tag_of(request, name)
    web = web_of(request)
    who = await viewer(request)
    tag = await catalogue.tag(web.index.database, who, name, tag_name)
    platform = request.query_params.get("platform")
    contents = await image.read(web.registry, name, tag.digest, platform)
    return await render(
        request,
        "tag.html",
        name=name,
        url=url_of(name),
        tag=tag,
        contents=contents,
        layers_total=sum(layer.size for layer in contents.layers),
        may_delete=who is not None
        and DELETE in (await repositories.actions(web.index.database, who, [name]))[name],
    )


routes = [Route("/r/{name:path}/-/tags/{tag}", show, methods=["GET"])]
