"""The index API's OpenAPI 3.1 document, generated from the code: each /api endpoint carries an
Operation (`@operation(...)`: its summary, the model of its JSON body, of each answer, its query
parameters), and `document(routes)` writes paths and schemas from those models (pydantic's JSON
Schema, which OpenAPI 3.1 takes as it is). Served at `GET /api/openapi.json`."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from dockyard import __version__

E = TypeVar("E", bound=Callable[[Request], Awaitable[Response]])
Credentials = Literal["none", "optional", "required", "bearer-secret"]
REF = "#/components/schemas/{model}"
_PARAMETER = re.compile(r"\{(\w+)(?::\w+)?\}")


@dataclass(frozen=True)
class Operation:
    summary: str
    body: Any = None  # the JSON body's type (a pydantic model), or None: no body
    # Status → the answer's JSON type (None: no body). Errors (4xx, 503) are added to each.
    answers: Mapping[int, Any] = field(default_factory=lambda: {200: None})
    query: Mapping[str, str] = field(default_factory=dict)  # name → what it is (optional)
    credentials: Credentials = "optional"


def operation(
    summary: str,
    *,
    body: Any = None,
    answers: Mapping[int, Any] | None = None,
    query: Mapping[str, str] | None = None,
    credentials: Credentials = "optional",
) -> Callable[[E], E]:
    """Describe an /api endpoint; put it under `@api` (which keeps what it sets)."""
    described = Operation(summary, body, answers or {200: None}, query or {}, credentials)

    def mark(endpoint: E) -> E:
        endpoint.__dict__["openapi"] = described
        return endpoint

    return mark


def described(endpoint: Callable[..., Any]) -> Operation | None:
    found = getattr(endpoint, "openapi", None)
    return found if isinstance(found, Operation) else None


class ErrorOut(BaseModel):
    code: str
    message: str
    detail: Any = None


class ErrorsOut(BaseModel):
    """Every error, on /api as on /v2: `{"errors": [{"code", "message", "detail"?}]}`."""

    errors: list[ErrorOut]


def document(routes: Sequence[BaseRoute]) -> dict[str, Any]:
    """The OpenAPI 3.1 document of these routes (each must carry an Operation)."""
    operations: list[tuple[str, str, Operation]] = []
    for route in routes:
        if not isinstance(route, Route):
            continue
        found = described(route.endpoint)
        if found is None:
            raise ValueError(f"{route.path} has no @operation")
        for method in sorted((route.methods or set()) - {"HEAD"}):
            operations.append((route.path, method.lower(), found))
    schemas, schema_of = _schemas([found for _, _, found in operations])
    paths: dict[str, dict[str, Any]] = {}
    for template, method, found in operations:
        path = _PARAMETER.sub(r"{\1}", template)
        paths.setdefault(path, {})[method] = _operation(found, template, schema_of)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Dockyard index API",
            "version": __version__,
            "description": "The hub's accounts, organisations, repositories, search and "
            "catalogue. Errors have the registry's shape (ErrorsOut). docs/api.md says more.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "password": {"type": "http", "scheme": "basic"},
                "secret": {"type": "http", "scheme": "bearer"},
            },
        },
    }


SchemaOf = Callable[[Any, JsonSchemaMode], dict[str, Any]]


def _schemas(operations: Sequence[Operation]) -> tuple[dict[str, Any], SchemaOf]:
    """Every body's and answer's JSON Schema, generated in one pass so that pydantic names
    each model once (generic models, and models of one name in two modules, included)."""
    wanted: dict[tuple[str, JsonSchemaMode], Any] = {}
    for found in operations:
        if found.body is not None:
            wanted[(repr(found.body), "validation")] = found.body
        for kind in found.answers.values():
            if kind is not None:
                wanted[(repr(kind), "serialization")] = kind
    wanted[(repr(ErrorsOut), "serialization")] = ErrorsOut
    inputs = [(key, key[1], TypeAdapter(kind).core_schema) for key, kind in wanted.items()]
    generator = GenerateJsonSchema(ref_template=REF)
    made, definitions = generator.generate_definitions(inputs)

    def schema_of(kind: Any, mode: JsonSchemaMode) -> dict[str, Any]:
        return dict(made[((repr(kind), mode), mode)])

    return {str(name): definition for name, definition in definitions.items()}, schema_of


def _operation(found: Operation, template: str, schema_of: SchemaOf) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PARAMETER.findall(template)
    ]
    parameters += [
        {"name": name, "in": "query", "required": False, "schema": {"type": "string"},
         "description": what}
        for name, what in found.query.items()
    ]  # fmt: skip
    answers: dict[str, Any] = {}
    for status, kind in found.answers.items():
        answer: dict[str, Any] = {"description": "success"}
        if kind is not None:
            answer["content"] = {"application/json": {"schema": schema_of(kind, "serialization")}}
        answers[str(status)] = answer
    errors = schema_of(ErrorsOut, "serialization")
    error = {"content": {"application/json": {"schema": errors}}}
    answers["4XX"] = {"description": "the request was refused", **error}
    answers["503"] = {"description": "a dependency is away: try again later", **error}
    operation: dict[str, Any] = {"summary": found.summary, "responses": answers}
    if parameters:
        operation["parameters"] = parameters
    if found.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": schema_of(found.body, "validation")}},
        }
    operation["security"] = _SECURITY[found.credentials]
    return operation


_NO_SCOPES: list[str] = []
_SECURITY: dict[str, list[dict[str, list[str]]]] = {
    "none": [],
    "optional": [{}, {"password": _NO_SCOPES}],
    "required": [{"password": _NO_SCOPES}],
    "bearer-secret": [{"secret": _NO_SCOPES}],
}


def openapi_route(routes: Sequence[BaseRoute]) -> Route:
    """`GET /api/openapi.json`, made once from the routes it describes (and itself); it takes
    no credentials, so that clients and fuzzers can read it before signing in."""

    @operation("This document", answers={200: dict[str, Any]}, credentials="none")
    async def openapi_json(_request: Request) -> Response:
        return JSONResponse(answer)

    route = Route("/api/openapi.json", openapi_json, methods=["GET"])
    answer = document([*routes, route])
    return route
