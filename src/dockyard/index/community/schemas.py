"""Wire models of stars and comments."""

from __future__ import annotations

from datetime import datetime
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict

Item = TypeVar("Item", bound=BaseModel)


class CommentText(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # Its bounds are the service's (check_comment): one place, one message.
    body: str


class CommentOut(BaseModel):
    id: int
    author: str
    body: str  # plain text as written: clients must show it as text, never as HTML
    created_at: datetime
    updated_at: datetime | None


class StarredOut(BaseModel):
    name: str
    description: str
    visibility: str
    star_count: int
    pull_count: int
    starred_at: datetime


class StargazerOut(BaseModel):
    username: str
    starred_at: datetime


class PageOut(BaseModel, Generic[Item]):
    """One page of a listing; a `Link: <...>; rel="next"` header names the next one."""

    page: int
    per_page: int
    results: list[Item]


# The pages as the endpoints answer them, by name (for the OpenAPI document).
class StarredPage(PageOut[StarredOut]):
    pass


class StargazersPage(PageOut[StargazerOut]):
    pass


class CommentsPage(PageOut[CommentOut]):
    pass
