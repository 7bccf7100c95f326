"""`/r/<name>/-/tags/<tag>`: a tag's manifest (or index and its platforms), the image config,
its layers and the referrers (signatures, SBOMs, other artifacts) by artifact type."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dockyard.index.catalogue import service as catalogue
from dockyard.index.errors import NotFound
from dockyard.oci.names import is_valid_tag
from dockyard.web import image
from dockyard.web.context import web_of
from dockyard.web.http import page, render, viewer
from dockyard.web.pages.repository import repository_name, url_of


@page
async def show(request: Request) -> Response:
    name = repository_name(request)
    tag_name: str = request.path_params["tag"]
    if not is_valid_tag(tag_name):
        raise NotFound(f"{name} has no tag {tag_name[:130]!r}")
    web = web_of(request)
    tag = await catalogue.tag(web.index.database, await viewer(request), name, tag_name)
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
    )


routes = [Route("/r/{name:path}/-/tags/{tag}", show, methods=["GET"])]
