"""Wire models of the webhooks' /api."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Event = Literal["push", "delete"]


class NewHook(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(default="", max_length=64)
    url: str = Field(min_length=1, max_length=2000)
    events: list[Event] = Field(default=["push"], min_length=1, max_length=2)
    active: bool = True


class HookChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=64)
    url: str | None = Field(default=None, min_length=1, max_length=2000)
    events: list[Event] | None = Field(default=None, min_length=1, max_length=2)
    # Switching a hook back on clears why it was switched off and its count of failures.
    active: bool | None = None
    # A new secret, shown once in the answer.
    rotate_secret: bool = False


class HookOut(BaseModel):
    id: int
    name: str
    url: str
    events: list[str]
    active: bool
    # Why Dockyard switched it off (deliveries kept failing); None when it did not.
    disabled_reason: str | None
    failures_in_a_row: int
    created_at: datetime
    # The secret, only in the answer that created it (or rotated it): keep it then.
    secret: str | None = None


class HooksAnswer(BaseModel):
    page: int
    per_page: int
    results: list[HookOut]


class AttemptOut(BaseModel):
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int
    response: str  # the answer's first KiB


class DeliveryOut(BaseModel):
    id: int
    event: str
    event_id: str  # the registry event's id
    state: Literal["pending", "delivered", "failed"]
    attempts: int  # of the current series (a redelivery starts a new one)
    next_attempt_at: datetime | None  # while pending
    created_at: datetime
    payload: str  # the exact body sent
    history: list[AttemptOut]  # every attempt, oldest first, redeliveries included


class DeliveriesAnswer(BaseModel):
    page: int
    per_page: int
    results: list[DeliveryOut]
