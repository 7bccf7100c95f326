"""`GET /v2/<name>/referrers/<digest>`: the manifests whose subject is that digest."""

from __future__ import annotations

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
    return JSONResponse(index, media_type=mediatypes.OCI_INDEX, headers=headers)
