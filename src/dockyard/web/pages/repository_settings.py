"""`/r/<name>/-/settings`: a repository's settings for its administrators: visibility,
descriptions, collaborators and teams with their roles, its webhooks (web/pages/webhooks.py),
deleting it; and deleting a tag (from the tag's page). The /api's services and rules: a web
session is a password's, so every change the /api allows with the password is allowed here."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dockyard.index.catalogue import deletion
from dockyard.index.errors import Invalid, NotFound
from dockyard.index.names import namespace_of
from dockyard.index.organisations import service as organisations
from dockyard.index.repositories import service as repositories
from dockyard.index.repositories.permissions import ROLES, VISIBILITIES
from dockyard.index.webhooks import service as hooks_service
from dockyard.index.webhooks.service import Of
from dockyard.web.context import web_of
from dockyard.web.http import form, page, redirect, render, signed_in
from dockyard.web.pages import webhooks
from dockyard.web.pages.repository import repository_name, url_of
from dockyard.web.pages.tag import tag_of

HOOKS_SHOWN = 100  # webhooks.service.MAX_PER_PAGE: no repository has had more


def settings_url(name: str) -> str:
    return f"{url_of(name)}/-/settings"


@page
async def show(request: Request) -> Response:
    return await render_settings(request)


async def render_settings(request: Request, status: int = 200, **values: object) -> Response:
    """The settings page (NotFound or Forbidden unless the viewer administers it), with what a
    form just did (`error`, a new hook's `secret`)."""
    name = repository_name(request)
    who = await signed_in(request)
    index = web_of(request).index
    info = await repositories.info(index.database, who, name)
    people = await repositories.collaborators(index.database, who, name, index.default_visibility)
    hooks, _more = await hooks_service.hooks(
        index.database, who, Of(repository=name), 1, HOOKS_SHOWN
    )
    return await render(
        request,
        "repository_settings.html",
        status,
        name=name,
        url=url_of(name),
        settings_url=settings_url(name),
        info=info,
        collaborators=people,
        teams_possible=await organisations.is_organisation(index.database, namespace_of(name)),
        hooks=hooks,
        roles=ROLES,
        visibilities=VISIBILITIES,
        **values,
    )


@page
async def change(request: Request) -> Response:
    name = repository_name(request)
    who = await signed_in(request)
    fields = await form(request)
    index = web_of(request).index
    try:
        await repositories.update(
            index.database,
            who,
            name,
            index.default_visibility,
            visibility=fields.get("visibility"),
            description=fields.get("description"),
            full_description=_lines(fields.get("full_description")),
        )
    except Invalid as exc:
        return await render_settings(request, 400, error=exc.message)
    return redirect(f"{settings_url(name)}?saved=general")


def _lines(text: str | None) -> str | None:
    """A textarea's text with the browser's CRLF line ends as the /api's clients send them."""
    return None if text is None else text.replace("\r\n", "\n")


@page
async def set_collaborator(request: Request) -> Response:
    return await _collaborator(request, remove=False)


@page
async def remove_collaborator(request: Request) -> Response:
    return await _collaborator(request, remove=True)


async def _collaborator(request: Request, remove: bool) -> Response:
    name = repository_name(request)
    who = await signed_in(request)
    fields = await form(request)
    kind, member = fields.get("kind", "user"), fields.get("member", "").strip()
    index = web_of(request).index
    try:
        if kind not in ("user", "team") or not member:
            raise Invalid("name a user or a team")
        await repositories.set_collaborator(
            index.database,
            who,
            name,
            index.default_visibility,
            None if remove else fields.get("role", ""),
            user=member if kind == "user" else None,
            team=member if kind == "team" else None,
        )
    except (Invalid, NotFound) as exc:
        return await render_settings(request, exc.status, error=exc.message)
    return redirect(f"{settings_url(name)}?saved=collaborators#collaborators")


@page
async def delete_repository(request: Request) -> Response:
    name = repository_name(request)
    who = await signed_in(request)
    typed = (await form(request)).get("confirm", "")
    web = web_of(request)
    try:
        await deletion.delete_repository(web.index.database, web.registry, who, name, typed)
    except Invalid as exc:
        return await render_settings(request, 400, error=exc.message)
    return redirect(f"/u/{namespace_of(name)}")


@page
async def delete_tag(request: Request) -> Response:
    name = repository_name(request)
    tag = tag_of(request, name)
    who = await signed_in(request)
    web = web_of(request)
    await deletion.delete_tag(web.index.database, web.registry, who, name, tag)
    return redirect(url_of(name))


create_hook = webhooks.hook_creator(lambda r: Of(repository=repository_name(r)), render_settings)

# Before the repository's greedy {name:path}.
routes = [
    Route("/r/{name:path}/-/settings", show, methods=["GET"]),
    Route("/r/{name:path}/-/settings", change, methods=["POST"]),
    Route("/r/{name:path}/-/settings/collaborators", set_collaborator, methods=["POST"]),
    Route("/r/{name:path}/-/settings/collaborators/remove", remove_collaborator, methods=["POST"]),
    Route("/r/{name:path}/-/settings/webhooks", create_hook, methods=["POST"]),
    Route("/r/{name:path}/-/settings/delete", delete_repository, methods=["POST"]),
    Route("/r/{name:path}/-/tags/{tag}/delete", delete_tag, methods=["POST"]),
]
