"""Wire models of /api/tokens."""

from __future__ import annotations

import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class NewToken(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    scopes: list[Literal["read", "write", "delete"]] = Field(min_length=1)
    expires_days: int | None = None
    robot: bool = False


class TokenOut(BaseModel):
    name: str
    kind: str
    scopes: list[str]
    created_at: datetime.datetime
    expires_at: datetime.datetime | None
    revoked: bool
    login: str  # the username to sign in with alongside the secret


class CreatedToken(TokenOut):
    token: str  # shown once
