"""Wire models of /api/users."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class SignUp(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str
    email: str
    password: str


class UserOut(BaseModel):
    username: str
    email: str
    is_admin: bool
