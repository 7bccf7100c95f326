"""Assertions and small steps the API tests share: the error format, upload sessions."""

from __future__ import annotations

from typing import Any

import httpx

ERROR_KEYS = {"code", "message", "detail"}


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is the spec's `{"errors": [...]}` with `code` first; returns that error."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert set(body) == {"errors"}, body
    errors = body["errors"]
    assert isinstance(errors, list) and errors, body
    for error in errors:
        assert set(error) <= ERROR_KEYS, error
        assert isinstance(error["code"], str) and error["code"].isupper(), error
        assert isinstance(error["message"], str) and error["message"], error
    first: dict[str, Any] = errors[0]
    assert first["code"] == code, body
    return first


def assert_head_error(response: httpx.Response, status: int) -> None:
    """HEAD answers carry the status and no body."""
    assert response.status_code == status, response.status_code
    assert response.content == b""


def start_upload(client: httpx.Client, repo: str) -> str:
    """Open an upload session; returns its Location, which every later request must use."""
    response = client.post(f"/v2/{repo}/blobs/uploads/")
    assert response.status_code == 202, response.text
    return response.headers["location"]


def upload_id(location: str) -> str:
    return location.split("?", 1)[0].rstrip("/").rsplit("/", 1)[1]


def patch_chunk(client: httpx.Client, location: str, data: bytes, start: int) -> httpx.Response:
    """PATCH one chunk with its Content-Range, as the spec's chunked upload does."""
    headers = {
        "Content-Type": "application/octet-stream",
        "Content-Range": f"{start}-{start + len(data) - 1}",
    }
    return client.patch(location, content=data, headers=headers)


def assert_status(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, (response.status_code, response.text)
