"""Fuzzing every /api route (found in dockyard.index.*.endpoints, so a new one is fuzzed
without a change here) with random path segments, near-valid and broken JSON bodies, and
every kind of credentials: the fuzzer's admin, anonymous, junk."""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

import dockyard.index.setup
from tests.fuzz.profile import fuzz_settings
from tests.fuzz.strategies import (
    Draw,
    api_bodies,
    api_routes,
    auths,
    header_bytes,
    media_types,
    names,
    odd_text,
    path_text,
    simple_text,
)
from tests.fuzz.target import Auth, FuzzTarget
from tests.fuzz.wire import Header, encode

ROUTES = api_routes()
_PARAMETER = re.compile(r"\{(\w+)(?::(\w+))?\}")
segments = st.one_of(st.sampled_from(["admin", "fuzz", "owners", "x"]), simple_text, odd_text)


@dataclass(frozen=True)
class ApiRequest:
    method: str
    target: str
    headers: list[Header]
    body: bytes
    auth: Auth


@st.composite
def api_requests(draw: Draw) -> ApiRequest:
    method, template = draw(st.sampled_from(ROUTES))
    if draw(st.integers(0, 9)) == 0:  # a method the route does not take
        method = draw(st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]))

    def fill(match: re.Match[str]) -> str:
        if match.group(2) == "path":
            return draw(names.flatmap(path_text))
        return draw(segments.map(encode))

    target = _PARAMETER.sub(fill, template)
    headers: list[Header] = []
    if draw(st.booleans()):
        content_type = draw(st.one_of(st.just("application/json"), media_types))
        headers.append((b"Content-Type", header_bytes(content_type)))
    return ApiRequest(
        method=method,
        target=target,
        headers=headers,
        body=draw(st.one_of(st.just(b""), api_bodies)),
        auth=draw(auths(password=True)),
    )


def test_every_api_route_is_fuzzed() -> None:
    """Every route of every endpoints module the index wires up (dockyard.index.setup) is
    among those fuzzed."""
    wired = [
        module
        for module in vars(dockyard.index.setup).values()
        if inspect.ismodule(module) and module.__name__.endswith(".endpoints")
    ]
    assert len(wired) >= 4, wired
    for module in wired:
        for route in module.routes:
            assert {(method, route.path) for method in route.methods} <= set(ROUTES), route


@fuzz_settings(examples=120)
@given(request=api_requests())
def test_any_api_request_answers_without_a_server_error(
    target: FuzzTarget, request: ApiRequest
) -> None:
    headers = [*target.auth_headers(request.auth, "api"), *request.headers]
    target.send(request.method, request.target, headers, request.body)


@fuzz_settings(examples=30)
@given(
    route=st.sampled_from([r for r in ROUTES if r[0] in ("POST", "PUT", "PATCH")]),
    body=api_bodies,
    declared=st.integers(1, 10**6),
    auth=st.sampled_from(["proper", "anonymous"]),
)
def test_api_bodies_cut_short_answer_without_a_server_error(
    target: FuzzTarget, route: tuple[str, str], body: bytes, declared: int, auth: Auth
) -> None:
    """A body shorter than its Content-Length, the client's sending side then closed."""
    method, template = route
    path = _PARAMETER.sub("fuzz", template)
    headers = [
        *target.auth_headers(auth, "api"),
        (b"Content-Type", b"application/json"),
        (b"Content-Length", str(len(body) + declared).encode()),
    ]
    target.send(method, path, headers, body, raw=True)
