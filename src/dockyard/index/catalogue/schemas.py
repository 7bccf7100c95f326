"""Wire models of the catalogue's /api."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class Platform(BaseModel):
    os: str
    architecture: str
    variant: str | None = None
    digest: str
    size: int


class TagOut(BaseModel):
    name: str
    digest: str
    media_type: str
    size: int | None  # config and layers; None: not known (the manifest could not be read)
    platforms: list[Platform]
    pushed_at: datetime
    pushed_by: str | None


class TagsAnswer(BaseModel):
    repository: str
    sort: str
    page: int
    per_page: int
    total: int
    pages: int
    results: list[TagOut]


class Envelope(BaseModel):
    """Distribution's notification envelope, as registries POST it to /api/events."""

    events: list[dict[str, Any]]


class Received(BaseModel):
    received: int  # events in the envelope
    stored: int  # of those, the ones the catalogue acts on
