"""Fuzzing every /api route (found in dockyard.index.*.endpoints, so a new one is fuzzed
without a change here) with random path segments, near-valid and broken JSON bodies, and
every kind of credentials: the fuzzer's admin, anonymous, junk."""

from __future__ import annotations

import inspect
import json
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
    digests,
    header_bytes,
    json_bytes,
    json_values,
    media_types,
    names,
    odd_text,
    path_text,
    simple_text,
    tags,
)
from tests.fuzz.target import EVENTS_SECRET, Auth, FuzzTarget
from tests.fuzz.wire import Header, encode

# /api/events lives in dockyard.index.catalogue.inbox (not an endpoints module: it is wired
# only when index.events.secret is set, as it is for the fuzz servers).
ROUTES = [*api_routes(), ("POST", "/api/events")]
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


# --- POST /api/events with the secret: near-valid envelopes of Distribution's events -----------

EVENT_MEDIA_TYPES = [
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.index.v1+json",
    "application/octet-stream",
]
# Under a namespace of their own: a fuzzed delete must not forget the suite's repositories.
event_repositories = st.one_of(
    names.map(lambda name: f"fuzzevents/{name}"), odd_text, st.just("n" * 300 + "/x")
)
events = st.fixed_dictionaries(
    {
        "action": st.one_of(st.sampled_from(["push", "pull", "delete", "mount"]), odd_text),
        "target": st.fixed_dictionaries(
            {"repository": event_repositories},
            optional={
                "mediaType": st.one_of(st.sampled_from(EVENT_MEDIA_TYPES), odd_text),
                "digest": st.one_of(digests, json_values),
                "tag": st.one_of(tags, json_values),
                "size": json_values,
            },
        ),
    },
    optional={
        "id": st.one_of(st.uuids().map(str), odd_text, json_values),
        "timestamp": st.one_of(
            st.datetimes(timezones=st.timezones()).map(lambda moment: moment.isoformat()),
            odd_text,
        ),
        "actor": st.one_of(st.fixed_dictionaries({"name": odd_text}), json_values),
        "request": json_values,
    },
)
envelope_documents = st.fixed_dictionaries({"events": st.lists(events, max_size=4)})
envelopes = st.one_of(
    envelope_documents.map(lambda document: json.dumps(document).encode("utf-8", "surrogatepass")),
    json_bytes(envelope_documents),
    api_bodies,
)
ENVELOPE = "application/vnd.docker.distribution.events.v1+json"


@fuzz_settings(examples=60)
@given(
    body=envelopes,
    content_type=st.one_of(
        st.sampled_from([ENVELOPE, ENVELOPE, "application/json", f"{ENVELOPE}; charset=utf-8"]),
        media_types,
    ),
)
def test_registry_events_with_the_secret_answer_without_a_server_error(
    index_target: FuzzTarget, body: bytes, content_type: str
) -> None:
    """What a registry (or anything holding the secret) may send; the catalogue then applies
    what was stored in the background, where a traceback fails the next test."""
    headers = [
        (b"Authorization", b"Bearer " + EVENTS_SECRET.encode()),
        (b"Content-Type", header_bytes(content_type)),
    ]
    index_target.send("POST", "/api/events", headers, body)
