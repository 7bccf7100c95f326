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


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    old_password: str
    new_password: str


class PasswordReset(BaseModel):
    model_config = ConfigDict(extra="forbid")

    new_password: str
