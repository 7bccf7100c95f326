"""The index API fuzzed from its own OpenAPI document (`GET /api/openapi.json`) with
schemathesis: every operation, bounded examples each, signed in as a site administrator; no
answer is a 5xx, and every answer matches the document (status, content type, schema)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.routing import Route

from dockyard.config import Settings
from dockyard.index.openapi import document
from dockyard.index.setup import api_routes, index_auth
from tests.fuzz.conftest import server_env
from tests.fuzz.profile import fuzz_settings, long_run_examples
from tests.fuzz.target import EVENTS_SECRET
from tests.support.index import ADMIN_PASSWORD, IndexServer, index_server

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
ADMIN = "Basic " + base64.b64encode(f"admin:{ADMIN_PASSWORD}".encode()).decode()


@pytest.fixture(scope="module")
def api_server(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[IndexServer]:
    # A server of its own: the fuzzed calls create, change and delete accounts and settings.
    data = tmp_path_factory.mktemp("openapi") / "data"
    with server_env(request) as env, index_server(data, env=env) as index:
        yield index


@pytest.fixture(scope="module")
def reader(api_server: IndexServer) -> str:
    """The admin's access token, as Basic credentials: reads signed in with it skip the
    password's argon2 (a sixth of a second a request); changes need the password itself."""
    with api_server.api(("admin", ADMIN_PASSWORD)) as api:
        scopes = ["read", "write", "delete"]
        made = api.post("/api/tokens", json={"name": "openapi-fuzz", "scopes": scopes})
    assert made.status_code == 201, made.text
    return "Basic " + base64.b64encode(f"admin:{made.json()['token']}".encode()).decode()


@pytest.fixture(scope="module")
def api_document(api_server: IndexServer) -> dict[str, Any]:
    answer = httpx.get(f"{api_server.url}/api/openapi.json", timeout=30)
    assert answer.status_code == 200
    served: dict[str, Any] = answer.json()
    return served


# The document of the fuzz server's settings (POST /api/events on), made here from the same
# routes, so that schemathesis makes one test per operation at collection; the test below checks
# that the server serves exactly this. (schemathesis.pytest.from_fixture, which would read it from
# the server, sets `request.node._nodeid`, which pytest 9 no longer has.)
SETTINGS = Settings.model_validate(
    {"auth": {"mode": "index"}, "index": {"events": {"secret": EVENTS_SECRET}}}
)
DOCUMENT = document(api_routes(SETTINGS))
schema = schemathesis.openapi.from_dict(DOCUMENT)
# The coverage phase tries every boundary case the document defines, however many: the long run
# only (`make fuzz`); the test command sends the bounded examples of the fuzzing phase.
schema.config.phases.coverage.enabled = long_run_examples() is not None


@schema.parametrize()
@fuzz_settings(examples=6, long_share=0.02)  # a long run: 70 a operation of FUZZ_EXAMPLES=3500
def test_every_operation_answers_as_its_document_says(
    case: Any, api_server: IndexServer, reader: str
) -> None:
    signed_in = reader if case.method == "GET" else ADMIN
    case.call_and_validate(
        base_url=api_server.url, headers={"Authorization": signed_in}, checks=CHECKS
    )


def test_the_server_serves_the_document_of_every_index_route(
    api_document: dict[str, Any],
) -> None:
    assert api_document == json.loads(json.dumps(DOCUMENT))
    assert api_document["openapi"] == "3.1.0"
    documented = {
        (method.upper(), path) for path, operations in api_document["paths"].items()
        for method in operations
    }  # fmt: skip
    served = index_auth(SETTINGS).routes
    assert len(served) == len(documented)
    for route in served:
        assert isinstance(route, Route)
        path = route.path.replace(":path}", "}")
        for method in (route.methods or set()) - {"HEAD"}:
            assert (method, path) in documented, (method, path)
