"""Wire models of /api/repositories."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict


class RepositoryOut(BaseModel):
    name: str
    visibility: str
    description: str
    full_description: str
    created_at: datetime
    star_count: int
    # From the registry's events: pulls (manifest GETs), the last pull and push, tags.
    pull_count: int
    last_pull_at: datetime | None
    last_push_at: datetime | None
    tag_count: int
    # Bytes this registry holds for it (blobs it links and its manifests); null: none here.
    stored_bytes: int | None = None


class SettingsChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    visibility: Literal["public", "private"] | None = None
    # Bounds are the service's (check_description, MAX_FULL_DESCRIPTION): one place, one message.
    description: str | None = None
    full_description: str | None = None


class Role(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["read", "write", "admin"]


class Collaborator(BaseModel):
    kind: str  # user | team
    name: str
    role: str
