"""Small pieces every handler needs: digests from URLs, pagination, empty responses."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from dockyard.kit.numbers import parse_decimal
from dockyard.registry.errors import ErrorCode, RegistryError

# The most entries one page of tags or repositories holds, whatever `n` asks.
MAX_PAGE = 10_000
# A page without `n`: bounded too, with a Link to the next (as Distribution's catalogue is), so
# that a registry of a million repositories is never one answer (tags: registry.tag_page_size).
DEFAULT_PAGE = 1_000


@dataclass(frozen=True, slots=True)
class Page:
    limit: int
    last: str | None

    @classmethod
    def from_request(cls, request: Request, default: int = DEFAULT_PAGE) -> Page:
        n = request.query_params.get("n")
        # No name or tag holds a NUL, so the names after "a\0b" are those after "a"; and
        # PostgreSQL refuses NUL in text: cut there.
        last = request.query_params.get("last", "").partition("\0")[0] or None
        if n is None or n == "":
            return cls(default, last)
        limit = parse_decimal(n, MAX_PAGE)
        if limit is None:
            raise RegistryError(
                ErrorCode.PAGINATION_NUMBER_INVALID, f"n must be a whole number, not {n[:40]!r}"
            )
        return cls(limit, last)

    @property
    def fetch(self) -> int:
        """Ask the database for one more row than the page holds, to know if more follow."""
        return self.limit + 1

    def cut(self, rows: list[str], path: str) -> tuple[list[str], dict[str, str]]:
        """The page's rows, and a Link header to the next page when there is one."""
        if self.limit == 0:
            return [], {}  # the spec: n=0 answers an empty list and no Link
        if len(rows) <= self.limit:
            return rows, {}
        rows = rows[: self.limit]
        query = urlencode({"last": rows[-1], "n": self.limit})
        return rows, {"Link": f'<{path}?{query}>; rel="next"'}


def empty(status: int, headers: dict[str, str]) -> Response:
    return Response(status_code=status, headers=headers)
