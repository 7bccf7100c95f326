"""Signing in to the web UI as a browser would, with httpx: the CSRF token read from a form,
cookies kept by the client."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from tests.support.images import make_image, push_image
from tests.support.index import IndexServer

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client: httpx.Client, path: str) -> str:
    """The CSRF token of the forms on `path` (the client keeps the cookie it comes with)."""
    response = client.get(path)
    assert response.status_code == 200, response.text
    found = _TOKEN.search(response.text)
    assert found is not None, f"no form with a CSRF token on {path}"
    return found.group(1)


def post_form(
    client: httpx.Client, path: str, fields: dict[str, str], page: str | None = None
) -> httpx.Response:
    """POST a form of `page` (default: `path`) with its CSRF token, as the browser sends it."""
    token = csrf_token(client, page or path)
    return client.post(path, data={**fields, "csrf_token": token})


@contextmanager
def sign_up(base_url: str, username: str, password: str) -> Iterator[httpx.Client]:
    """A new account, signed in: a client holding its session cookie."""
    with httpx.Client(base_url=base_url, timeout=30) as client:
        answer = post_form(
            client,
            "/signup",
            {"username": username, "email": f"{username}@example.com", "password": password},
        )
        assert answer.status_code == 303, answer.text
        yield client


@contextmanager
def sign_in(base_url: str, username: str, password: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=30) as client:
        answer = post_form(client, "/signin", {"username": username, "password": password})
        assert answer.status_code == 303, answer.text
        yield client


def create_account(base_url: str, username: str, password: str) -> None:
    with sign_up(base_url, username, password):
        pass


def push(web: IndexServer, credentials: tuple[str, str], name: str, tag: str = "v1") -> None:
    """An image pushed as `name:tag`, once the catalogue shows the tag."""
    with web.registry(credentials, f"repository:{name}:pull,push") as registry:
        push_image(registry, name, make_image(f"{name}:{tag}"), tag)
    web.tagged(name, tag)
