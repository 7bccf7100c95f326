"""Hostile bodies and credentials for the index's /api and /token, and the organisation that must
keep an owner, against a real server in the default index mode on both databases."""

from __future__ import annotations

import base64
import socket
from collections.abc import Iterator

import httpx
import pytest

from tests.support.api import assert_error
from tests.support.index import ADMIN_PASSWORD, IndexServer, index_on_backend
from tests.support.raw_http import connect, read_response, send_head


@pytest.fixture(scope="module")
def index(
    database_backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[IndexServer]:
    with index_on_backend(database_backend, request, tmp_path_factory, "hostile") as server:
        with server.api() as api:
            for user in ("olive", "owen"):
                body = {"username": user, "email": f"{user}@example.com", "password": "pw-12345678"}
                assert api.post("/api/users", json=body).status_code == 201
        yield server


def creds(user: str) -> tuple[str, str]:
    return (user, "pw-12345678")


@pytest.mark.parametrize(
    "body",
    [
        b"\xff",
        b'{"username": "\xff\xfe"}',
        b"[" * 5000,
        b'{"username": ' + b"9" * 4301 + b"}",
        b'{"username": "olga", "email": "o@example.com", "password": "pw-\\ud800-12345"}',
        b'{"username": "olga", "email": "o@example.com", "password": "pw-\\u0000-12345"}',
        b'{"username": "ol\\u0000ga", "email": "o@example.com", "password": "pw-12345678"}',
    ],
    ids=[
        "not-utf8",
        "not-utf8-in-string",
        "nested",
        "huge-integer",
        "surrogate",
        "nul",
        "nul-name",
    ],
)
def test_unusable_json_bodies_are_400(index: IndexServer, body: bytes) -> None:
    with index.api() as api:
        response = api.post("/api/users", content=body)
    assert_error(response, 400, "INVALID_REQUEST")


def test_a_huge_body_is_refused_without_being_read(index: IndexServer) -> None:
    declared = 400 * 1024 * 1024
    with connect(index.url) as sock:
        send_head(sock, "POST", "/api/users", {"Content-Length": str(declared)})
        sock.sendall(b"{" + b" " * 1024 * 1024)  # far less than declared: no wait for the rest
        answer = read_response(sock)
    assert answer.status == 413
    assert answer.json()["errors"][0]["code"] == "SIZE_INVALID"


def test_a_huge_chunked_body_is_refused_at_the_limit(index: IndexServer) -> None:
    with connect(index.url) as sock:
        send_head(sock, "POST", "/api/users", {"Transfer-Encoding": "chunked"})
        chunk = b" " * 65536
        for _ in range(4):  # the body never ends: the answer must come anyway
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        answer = read_response(sock)
    assert answer.status == 413


def test_a_body_shorter_than_its_length_is_400_not_500(index: IndexServer) -> None:
    with connect(index.url) as sock:
        send_head(sock, "POST", "/api/users", {"Content-Length": "100"})
        sock.sendall(b'{"usern')
        sock.shutdown(socket.SHUT_WR)
        answer = read_response(sock)
    assert answer.status == 400
    assert answer.json()["errors"][0]["code"] == "SIZE_INVALID"


@pytest.mark.parametrize("user", ["olive\x00", "oli\nve", "olive\x7f"])
def test_basic_credentials_with_control_characters_are_refused(
    index: IndexServer, user: str
) -> None:
    basic = base64.b64encode(f"{user}:pw-12345678".encode()).decode()
    headers = {"Authorization": f"Basic {basic}"}
    assert_error(httpx.get(f"{index.url}/api/user", headers=headers), 401, "UNAUTHORIZED")
    token = httpx.get(f"{index.url}/token", params={"service": "dockyard"}, headers=headers)
    assert_error(token, 401, "UNAUTHORIZED")


def test_token_form_with_nul_is_refused(index: IndexServer) -> None:
    form = {
        "grant_type": "password",
        "service": "dockyard",
        "client_id": "test",
        "username": "olive\x00",
        "password": "pw-12345678",
    }
    response = httpx.post(f"{index.url}/token", data=form)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"


def test_the_only_owner_cannot_leave_or_step_down(
    index: IndexServer, database_backend: str
) -> None:
    org = f"keep-{database_backend}"
    with index.api(creds("olive")) as olive, index.api(creds("owen")) as owen:
        assert olive.post("/api/orgs", json={"name": org}).status_code == 201
        assert olive.put(f"/api/orgs/{org}/members/owen", json={}).status_code == 204
        assert_error(olive.delete(f"/api/orgs/{org}/members/olive"), 409, "CONFLICT")
        demoted = olive.put(f"/api/orgs/{org}/members/olive", json={"role": "member"})
        assert_error(demoted, 409, "CONFLICT")
        # With a second owner, the first may go; the one left then may not.
        promoted = olive.put(f"/api/orgs/{org}/members/owen", json={"role": "owner"})
        assert promoted.status_code == 204
        assert olive.delete(f"/api/orgs/{org}/members/olive").status_code == 204
        assert_error(owen.delete(f"/api/orgs/{org}/members/owen"), 409, "CONFLICT")
        assert owen.get(f"/api/orgs/{org}/members").json() == [
            {"username": "owen", "role": "owner"}
        ]


@pytest.mark.parametrize(
    "path",
    [
        "/api/orgs/%00/members",
        "/api/orgs/%00/teams/admin/members",
        "/api/orgs/a%00b/teams/%00/members",
        "/api/repositories/a%00b/c",
        "/api/repositories/olive/%00/tags",
    ],
)
def test_a_name_holding_a_nul_names_nothing(index: IndexServer, path: str) -> None:
    # PostgreSQL refuses a NUL in text: these reached it, a 500 (found by the long fuzz run).
    with index.api(("admin", ADMIN_PASSWORD)) as api:
        assert_error(api.get(path), 404, "NOT_FOUND")
        assert api.head(path).status_code == 404


def test_a_page_of_a_name_holding_a_nul_is_not_found(index: IndexServer) -> None:
    with httpx.Client(base_url=index.url, timeout=30) as browser:
        assert browser.get("/u/a%00b").status_code == 404
