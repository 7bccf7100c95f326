"""`GET /v2/<name>/referrers/<digest>`: the manifests whose subject is that digest."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dockyard.oci import mediatypes
from dockyard.oci.digest import is_digest
from dockyard.registry.handlers.common import Page
from dockyard.registry.references import parse_digest
from dockyard.registry.state import registry_of


async def list_referrers(request: Request, name: str) -> Response:
    subject = parse_digest(request.path_params["digest"])
    params = request.query_params
    artifact_type = params.get("artifactType") or None
    page = Page.from_request(request)
    registry = registry_of(request)
    headers = {"OCI-Filters-Applied": "artifactType"} if artifact_type else {}
    if (artifact_type is not None and "\0" in artifact_type) or page.limit == 0:
        # No stored artifact type holds a NUL (nor may it reach PostgreSQL): nothing matches.
        index = registry.manifests.empty_referrers()
    else:
        after = page.last if page.last and is_digest(page.last) else None
        index, next_after = await registry.manifests.referrers(
            name, subject, artifact_type, page.limit, after
        )
        if next_after is not None:
            # The spec's pagination: a Link to the next page, which clients follow as given.
            query = {"n": str(page.limit), "last": next_after}
            if artifact_type:
                query["artifactType"] = artifact_type
            url = f"/v2/{name}/referrers/{subject}?{urlencode(query)}"
            headers["Link"] = f'<{url}>; rel="next"'
    return EscapedJSONResponse(index, media_type=mediatypes.OCI_INDEX, headers=headers)


class EscapedJSONResponse(JSONResponse):
    """JSON with every non-ASCII character escaped: referrers carry their manifests' annotations,
    which may hold a lone surrogate ("\\ud800" in the pushed JSON) that has no UTF-8 encoding
    but is written back exactly as it came."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, separators=(",", ":")).encode("ascii")
