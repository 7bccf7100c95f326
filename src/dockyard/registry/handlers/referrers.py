"""`GET /v2/<name>/referrers/<digest>`: the manifests whose subject is that digest."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dockyard.oci import mediatypes
from dockyard.registry.references import parse_digest
from dockyard.registry.state import registry_of


async def list_referrers(request: Request, name: str) -> Response:
    subject = parse_digest(request.path_params["digest"])
    artifact_type = request.query_params.get("artifactType") or None
    registry = registry_of(request)
    if artifact_type is not None and "\0" in artifact_type:
        # No stored artifact type holds a NUL (nor may it reach PostgreSQL): nothing matches.
        index = registry.manifests.empty_referrers()
    else:
        index = await registry.manifests.referrers(name, subject, artifact_type)
    headers = {"OCI-Filters-Applied": "artifactType"} if artifact_type else {}
    return EscapedJSONResponse(index, media_type=mediatypes.OCI_INDEX, headers=headers)


class EscapedJSONResponse(JSONResponse):
    """JSON with every non-ASCII character escaped: referrers carry their manifests' annotations,
    which may hold a lone surrogate ("\\ud800" in the pushed JSON) that has no UTF-8 encoding
    but is written back exactly as it came."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, separators=(",", ":")).encode("ascii")
