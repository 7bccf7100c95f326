"""Wire models of /api/repositories."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class RepositoryOut(BaseModel):
    name: str
    visibility: str
    description: str


class SettingsChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    visibility: Literal["public", "private"] | None = None
    description: str | None = Field(default=None, max_length=4096)


class Role(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["read", "write", "admin"]


class Collaborator(BaseModel):
    kind: str  # user | team
    name: str
    role: str
