"""/api/replication's answers."""

from __future__ import annotations

from pydantic import BaseModel

from dockyard.registry.replication.status import RuleStatus, RunStatus


class RulesAnswer(BaseModel):
    rules: list[RuleStatus]


class RunsAnswer(BaseModel):
    runs: list[RunStatus]
