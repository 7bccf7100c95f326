"""`GET /v2/`: the API version check every client starts with."""

from starlette.requests import Request
from starlette.responses import JSONResponse, Response


async def api_version(request: Request) -> Response:
    return JSONResponse({})
