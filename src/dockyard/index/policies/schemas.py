"""Wire models of the storage policies' /api."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

MAX_PATTERNS = 50


class QuotaChange(BaseModel):
    """A namespace's own limits: null takes the configured default, -1 is unlimited."""

    model_config = ConfigDict(extra="forbid")
    max_bytes: int | None = Field(default=None, ge=-1, le=2**63 - 1)
    max_repositories: int | None = Field(default=None, ge=-1, le=2**31 - 1)


class QuotaOut(BaseModel):
    namespace: str
    # In force (null: unlimited), and as set for the namespace (null: the default).
    max_bytes: int | None
    max_repositories: int | None
    own: QuotaChange | None


class RepositoryUsageOut(BaseModel):
    name: str
    bytes: int


class UsageOut(BaseModel):
    namespace: str
    # Each distinct blob and manifest of its repositories once.
    bytes: int
    repository_count: int  # repositories holding at least one manifest
    max_bytes: int | None
    max_repositories: int | None
    repositories: list[RepositoryUsageOut]


class ImmutableTags(BaseModel):
    """Shell-style patterns (`*`, `?`, `[...]`) of tags that never move nor go once pushed."""

    model_config = ConfigDict(extra="forbid")
    patterns: list[str] = Field(default_factory=list, max_length=MAX_PATTERNS)


class RetentionPolicy(BaseModel):
    """Of the tags matching `match`, keep the `keep_last` pushed last and those pushed or pulled
    within `keep_days`; never delete those matching a `protect` pattern; delete the rest."""

    model_config = ConfigDict(extra="forbid")
    keep_last: int | None = Field(default=None, ge=0, le=1_000_000)
    keep_days: float | None = Field(default=None, ge=0, le=36_500)
    match: str = "*"
    protect: list[str] = Field(default_factory=list, max_length=MAX_PATTERNS)
