"""Lists the registry pages with `Link: <url>; rel="next"` (RFC 8288): tags and the catalogue."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

from dockyard.client.errors import NOT_JSON, InvalidRequest
from dockyard.client.session import Session

_NEXT = re.compile(r'<([^>]*)>\s*;[^,]*\brel\s*=\s*"?next"?', re.IGNORECASE)
# A registry that keeps answering with a next page is broken; stop rather than loop forever.
MAX_PAGES = 100_000


def next_link(header: str | None) -> str | None:
    """The target of the `rel="next"` link, relative or absolute, if any."""
    if not header:
        return None
    match = _NEXT.search(header)
    return match.group(1) if match else None


async def pages(
    session: Session, path: str, key: str, scopes: tuple[str, ...], what: str
) -> AsyncIterator[str]:
    """Each string of `key` ("tags", "repositories") over every page."""
    next_path: str | None = path
    seen: set[str] = set()
    while next_path is not None and len(seen) < MAX_PAGES:
        seen.add(next_path)
        response = await session.request("GET", next_path, scopes=scopes, what=what)
        try:
            items = response.json().get(key) or []
        except (*NOT_JSON, AttributeError):
            raise InvalidRequest(f"{what}: the answer is not the expected JSON") from None
        for item in items:
            if isinstance(item, str):
                yield item
        next_path = next_link(response.headers.get("link"))
        if next_path is not None and next_path in seen:
            raise InvalidRequest(f"{what}: the registry's next page is one already read")
