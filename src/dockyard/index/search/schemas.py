"""Wire models of search: the original registry's `/v1/search` answer, and `/api/search`'s."""

from __future__ import annotations

from pydantic import BaseModel


class V1Result(BaseModel):
    name: str
    description: str
    star_count: int
    is_official: bool
    is_automated: bool
    pull_count: int


class V1Answer(BaseModel):
    """As the original registry documented `GET /v1/search`."""

    num_pages: int
    num_results: int
    results: list[V1Result]
    page_size: int
    query: str
    page: int


class Hit(BaseModel):
    name: str
    namespace: str
    description: str
    visibility: str
    star_count: int
    pull_count: int
    is_official: bool


class Answer(BaseModel):
    query: str
    namespace: str | None
    sort: str
    page: int
    per_page: int
    total: int
    pages: int
    results: list[Hit]
