"""/api/replication (each rule with its runs pending, done and failed and the bytes it moved)
and /api/replication/runs (the latest runs, of one rule with `rule=`): site administrators
only, as the rules name other registries and the runs every repository copied."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dockyard.config import ReplicationSettings
from dockyard.index.errors import Forbidden, NotFound
from dockyard.index.http import api, index_of, number_param, signed_in
from dockyard.index.openapi import operation
from dockyard.index.replication.schemas import RulesAnswer, RunsAnswer
from dockyard.registry.replication.status import latest_runs, rules_status

MAX_RUNS = 1000


def replication_of(request: Request) -> ReplicationSettings:
    """replication, as dockyard.index.setup hands it to every /api request."""
    found = getattr(request.state, "replication", None)
    return found if isinstance(found, ReplicationSettings) else ReplicationSettings()


async def _administrator(request: Request) -> None:
    who = await signed_in(request)
    if not who.user.is_admin:
        raise Forbidden("replication is for site administrators")


@api
@operation(
    "Replication rules with their runs and bytes moved (site administrators)",
    answers={200: RulesAnswer},
    credentials="required",
)
async def show_rules(request: Request) -> Response:
    await _administrator(request)
    database = index_of(request).database
    found = await database.in_thread(rules_status, replication_of(request))
    return JSONResponse(RulesAnswer(rules=found).model_dump(mode="json"))


@api
@operation(
    "The latest replication runs, newest first (site administrators)",
    answers={200: RunsAnswer},
    query={"rule": "of this rule only", "limit": f"how many, from 1 to {MAX_RUNS} (50)"},
    credentials="required",
)
async def show_runs(request: Request) -> Response:
    await _administrator(request)
    rule = request.query_params.get("rule") or None
    if rule is not None and rule not in {r.name for r in replication_of(request).rules}:
        raise NotFound(f"no replication rule named {rule[:64]!r} is configured")
    limit = number_param(request.query_params.get("limit"), "limit", MAX_RUNS, 50)
    database = index_of(request).database
    found = await database.in_thread(latest_runs, rule, limit)
    return JSONResponse(RunsAnswer(runs=found).model_dump(mode="json"))


routes = [
    Route("/api/replication", show_rules, methods=["GET"]),
    Route("/api/replication/runs", show_runs, methods=["GET"]),
]
