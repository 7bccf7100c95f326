"""Fuzzing every web page route (listed by dockyard.web.setup, so a new page is fuzzed without a
change here): random path segments and query strings, url-encoded forms with and without their
CSRF token, signed in or not, and junk cookies. No answer may be a 5xx."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockyard.web.setup import page_routes
from tests.fuzz.profile import fuzz_settings
from tests.fuzz.strategies import (
    Draw,
    header_bytes,
    names,
    odd_text,
    path_text,
    query_strings,
    simple_text,
    tags,
)
from tests.fuzz.target import FuzzTarget
from tests.fuzz.wire import Header, encode

ROUTES = sorted(
    {(method, route.path) for route in page_routes() for method in route.methods or ()}
    - {("HEAD", route.path) for route in page_routes()}
)
_PARAMETER = re.compile(r"\{(\w+)(?::(\w+))?\}")
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
FIELDS = ["username", "password", "email", "body", "star", "name", "kind", "scope_read",
          "scope_write", "scope_delete", "expires_days", "old_password", "new_password",
          "confirm_password", "next"]  # fmt: skip
segments = st.one_of(st.sampled_from(["fuzz", "admin", "1", "x"]), simple_text, tags, odd_text)


@dataclass(frozen=True)
class Browser:
    """A signed-in browser of the fuzz server: its cookies and its forms' CSRF token."""

    cookie: str
    csrf: str


@pytest.fixture(scope="module")
def browser(index_target: FuzzTarget) -> Iterator[Browser]:
    name = f"fuzzweb{uuid.uuid4().hex[:12]}"  # its own account: the admin's is not fuzzed
    with httpx.Client(base_url=index_target.server.url, timeout=30) as client:
        token = _TOKEN.search(client.get("/signup").text)
        assert token is not None
        fields = {"username": name, "email": f"{name}@example.com", "password": "fuzz-password-1"}
        answer = client.post("/signup", data={**fields, "csrf_token": token.group(1)})
        assert answer.status_code == 303, answer.text
        forms = _TOKEN.search(client.get("/account/tokens").text)
        assert forms is not None
        cookie = "; ".join(f"{key}={value}" for key, value in client.cookies.items())
        yield Browser(cookie, forms.group(1))


@dataclass(frozen=True)
class WebRequest:
    method: str
    target: str
    headers: list[Header]
    body: bytes


@st.composite
def web_requests(draw: Draw, browser: Browser) -> WebRequest:
    method, template = draw(st.sampled_from(ROUTES))
    if draw(st.integers(0, 9)) == 0:  # a method the route does not take
        method = draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "OPTIONS"]))

    def fill(match: re.Match[str]) -> str:
        if match.group(2) == "path":
            return draw(names.flatmap(path_text))
        return draw(segments.map(encode))

    target = _PARAMETER.sub(fill, template) + draw(query_strings())
    signed_in = draw(st.integers(0, 3)) > 0
    headers: list[Header] = []
    cookie = draw(
        st.one_of(st.just(browser.cookie), odd_text.map(lambda t: f"dockyard_session={t}"))
    )
    if signed_in or draw(st.booleans()):
        headers.append((b"Cookie", header_bytes(cookie)))
    fields = draw(
        st.dictionaries(st.one_of(st.sampled_from(FIELDS), odd_text), odd_text, max_size=6)
    )
    if draw(st.integers(0, 3)) > 0:
        fields["csrf_token"] = browser.csrf
    encoded = "&".join(f"{encode(key)}={encode(value)}" for key, value in fields.items())
    body = draw(st.one_of(st.just(encoded.encode()), st.binary(max_size=128)))
    if method == "POST":
        headers.append((b"Content-Type", b"application/x-www-form-urlencoded"))
    return WebRequest(method, target, headers, body)


def test_every_web_route_is_fuzzed() -> None:
    for route in page_routes():
        assert {(m, route.path) for m in route.methods or () if m != "HEAD"} <= set(ROUTES)
    assert len(ROUTES) >= 15, ROUTES


@fuzz_settings(examples=150)
@given(data=st.data())
def test_any_web_request_answers_without_a_server_error(
    index_target: FuzzTarget, browser: Browser, data: st.DataObject
) -> None:
    request = data.draw(web_requests(browser))
    index_target.send(request.method, request.target, request.headers, request.body)
