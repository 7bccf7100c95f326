"""Wire models of /api/orgs."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class NewOrganisation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str


class NewTeam(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str


class Membership(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["owner", "member"] = "member"


class Member(BaseModel):
    username: str
    role: str


class Created(BaseModel):
    """What creating an organisation or a team answers: its name."""

    name: str
