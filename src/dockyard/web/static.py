"""The UI's own style sheet, script and icons, served from the package at /static/<name>.
Pages link them as /static/<name>?v=<content hash>: such a URL never changes content, so it is
cached for a year; another version of the file gets another URL."""

from __future__ import annotations

import hashlib
import mimetypes
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

ROOT = Path(__file__).parent / "static"
YEAR = 365 * 86400


class StaticFiles:
    def __init__(self, root: Path = ROOT) -> None:
        self.files: dict[str, tuple[bytes, str, str]] = {}
        for path in sorted(root.iterdir()):
            if path.is_file():
                body = path.read_bytes()
                kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                if kind.startswith("text/") or kind.endswith(("javascript", "svg+xml")):
                    kind += "; charset=utf-8"
                version = hashlib.sha256(body).hexdigest()[:16]
                self.files[path.name] = (body, kind, version)

    def url(self, name: str) -> str:
        return f"/static/{name}?v={self.files[name][2]}"

    async def serve(self, request: Request) -> Response:
        found = self.files.get(request.path_params["name"])
        if found is None:
            return Response("not found\n", status_code=404, media_type="text/plain")
        body, kind, version = found
        fixed = request.query_params.get("v") == version
        headers = {
            "Cache-Control": f"public, max-age={YEAR}, immutable" if fixed else "no-cache",
            "ETag": f'"{version}"',
            "X-Content-Type-Options": "nosniff",
        }
        if request.headers.get("if-none-match") == f'"{version}"':
            return Response(status_code=304, headers=headers)
        return Response(body, media_type=kind, headers=headers)

    def route(self) -> Route:
        return Route("/static/{name}", self.serve, methods=["GET", "HEAD"])
