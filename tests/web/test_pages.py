"""The web UI over plain HTTP (no browser needed): security headers, static files, CSRF,
sessions that a password change ends, private repositories invisible, the registry's own
answers unchanged."""

from __future__ import annotations

import contextlib
import itertools
import re
import sqlite3

import httpx
import pytest

from tests.support.api import assert_error
from tests.support.index import ADMIN_PASSWORD, IndexServer
from tests.support.raw_http import connect, send_head
from tests.support.waiting import eventually
from tests.support.web import create_account, csrf_token, post_form, push, sign_in, sign_up

PASSWORD = "a-good-password-1"
_names = itertools.count()


def fresh(stem: str) -> str:
    return f"{stem}{next(_names)}"


def test_pages_carry_a_csp_without_inline_scripts_and_refuse_framing(web: IndexServer) -> None:
    response = httpx.get(f"{web.url}/")
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "<script>" not in response.text and " on" + "click=" not in response.text
    assert re.search(r'<script src="/static/app\.js\?v=[0-9a-f]{16}" defer>', response.text)


def test_static_files_with_their_hash_are_cached_for_a_year(web: IndexServer) -> None:
    page = httpx.get(f"{web.url}/").text
    found = re.search(r'href="(/static/style\.css\?v=[0-9a-f]+)"', page)
    assert found is not None
    response = httpx.get(f"{web.url}{found.group(1)}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert "immutable" in response.headers["cache-control"]
    assert httpx.get(f"{web.url}/static/nothing.css").status_code == 404


def test_a_form_posted_without_its_csrf_token_is_refused(web: IndexServer) -> None:
    name = fresh("csrf")
    with sign_up(web.url, name, PASSWORD) as client:
        refused = client.post("/account/tokens", data={"name": "t1", "scope_read": "on"})
        assert refused.status_code == 403
        wrong = client.post(
            "/account/tokens", data={"name": "t1", "scope_read": "on", "csrf_token": "x" * 43}
        )
        assert wrong.status_code == 403
        # Not ASCII: hmac.compare_digest raises on such a str (a 500 before the fuzz suite
        # found it).
        odd = client.post(
            "/account/tokens", data={"name": "t1", "scope_read": "on", "csrf_token": "é" * 43}
        )
        assert odd.status_code == 403
        # The page's own CSRF token is random base64url and may contain "t1".
        assert "No tokens yet." in client.get("/account/tokens").text
    with httpx.Client(base_url=web.url) as anonymous:
        answer = anonymous.post("/signin", data={"username": name, "password": PASSWORD})
        assert answer.status_code == 403
        assert "dockyard_session" not in answer.cookies


@pytest.mark.tracebacks_expected  # the fault's, logged with its traceback
def test_a_page_the_server_fails_is_an_html_page_and_its_fault_is_logged(web: IndexServer) -> None:
    # A fault of the server's own (here the database's trigger on one token's name reading a
    # table that is not there) came out of a page as the API's JSON error body.
    refused = "refused.by.trigger"
    trigger = (
        f"CREATE TRIGGER refuse_token BEFORE INSERT ON access_tokens WHEN NEW.name = '{refused}'"
        " BEGIN SELECT * FROM no_such_table; END"
    )
    with contextlib.closing(sqlite3.connect(web.server.data / "registry.db")) as database:
        database.execute(trigger)
        try:
            with sign_up(web.url, fresh("fault"), PASSWORD) as client:
                fields = {"name": refused, "scope_read": "on"}
                answer = post_form(client, "/account/tokens", fields)
        finally:
            database.execute("DROP TRIGGER refuse_token")
    assert answer.status_code == 500
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.headers["content-security-policy"].startswith("default-src 'none'")
    assert "<h1>Something went wrong</h1>" in answer.text
    assert "unhandled error on POST /account/tokens" in web.server.log.read_text()


def test_a_browser_asking_for_no_page_gets_a_page_and_api_clients_their_error(
    web: IndexServer,
) -> None:
    # A mistyped address showed a browser the API's JSON error.
    html = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    for path in ("/no-such-page", "/u/", "/-/nothing/here"):
        answer = httpx.get(f"{web.url}{path}", headers=html)
        assert answer.status_code == 404
        assert answer.headers["content-type"].startswith("text/html")
        assert "<h1>Not found</h1>" in answer.text
        assert answer.headers["content-security-policy"].startswith("default-src 'none'")
    # Clients of the APIs, and the APIs' paths whoever asks, keep the error body.
    for path, headers in (("/no-such-page", {}), ("/v2/no/such/thing", html), ("/api/x", html)):
        assert_error(httpx.get(f"{web.url}{path}", headers=headers), 404, "NAME_UNKNOWN")
    assert_error(httpx.post(f"{web.url}/no-such-page", headers=html), 404, "NAME_UNKNOWN")


def test_a_form_whose_sender_goes_away_mid_body_is_no_server_fault(web: IndexServer) -> None:
    # The pages' own handling of failures took a client gone mid-form for a fault: a 500 and
    # its traceback in the log (which fails this test), where every other route says 400.
    before = web.server.log.read_text().count("POST /signin 400")
    with connect(web.url) as sock:
        form = {"Content-Type": "application/x-www-form-urlencoded", "Content-Length": "1000"}
        send_head(sock, "POST", "/signin", form)
        sock.sendall(b"username=gone")
    eventually(
        lambda: web.server.log.read_text().count("POST /signin 400") > before,
        what="the 400 in the access log",
    )


def test_sign_in_sets_an_httponly_lax_cookie_and_sign_out_ends_the_session(
    web: IndexServer,
) -> None:
    name = fresh("cookie")
    create_account(web.url, name, PASSWORD)
    with httpx.Client(base_url=web.url) as client:
        answer = post_form(client, "/signin", {"username": name, "password": PASSWORD})
        assert answer.status_code == 303
        cookie = answer.headers["set-cookie"]
        assert "dockyard_session=" in cookie and "HttpOnly" in cookie
        assert "samesite=lax" in cookie.lower() and "Secure" not in cookie  # plain HTTP here
        stolen = client.cookies["dockyard_session"]
        assert client.get("/account/tokens").status_code == 200
        assert post_form(client, "/signout", {}, page="/").status_code == 303
    with httpx.Client(base_url=web.url, cookies={"dockyard_session": stolen}) as replay:
        assert replay.get("/account/tokens").status_code == 303  # to the sign-in form


def test_a_session_from_before_a_password_change_no_longer_works(web: IndexServer) -> None:
    name = fresh("passwd")
    with sign_up(web.url, name, PASSWORD) as changer, sign_in(web.url, name, PASSWORD) as other:
        old = other.cookies["dockyard_session"]
        fields = {
            "old_password": PASSWORD,
            "new_password": "another-password-2",
            "confirm_password": "another-password-2",
        }
        assert post_form(changer, "/account/password", fields).status_code == 303
        assert changer.get("/account/tokens").status_code == 200  # this browser signed in anew
        assert other.get("/account/tokens").status_code == 303
    with httpx.Client(base_url=web.url, cookies={"dockyard_session": old}) as replay:
        assert replay.get("/account/tokens").status_code == 303


def test_a_password_changed_through_the_api_ends_web_sessions_too(web: IndexServer) -> None:
    name = fresh("apipw")
    with sign_up(web.url, name, PASSWORD) as client:
        change = {"old_password": PASSWORD, "new_password": "another-password-2"}
        with web.api((name, PASSWORD)) as api:
            assert api.put("/api/user/password", json=change).status_code == 204
        assert client.get("/account/tokens").status_code == 303


def test_a_disabled_account_is_signed_out(web: IndexServer) -> None:
    name = fresh("disabled")
    with sign_up(web.url, name, PASSWORD) as client:
        with web.api(("admin", ADMIN_PASSWORD)) as api:
            assert api.post(f"/api/users/{name}/disable").status_code == 204
        assert client.get("/account/tokens").status_code == 303


def test_a_forged_session_cookie_is_anonymous(web: IndexServer) -> None:
    for forged in ("x", "a.b", "A" * 43 + "." + "B" * 43, "%ff" * 5, "." * 300):
        with httpx.Client(base_url=web.url, cookies={"dockyard_session": forged}) as client:
            assert client.get("/").status_code == 200
            assert client.get("/account/stars").status_code == 303
    # Bytes past ASCII in the cookie (read as Latin-1): anonymous too, not a server error.
    for raw in (b"dockyard_session=.\xc2\x80", b"dockyard_session=\xe9t\xe9.sig"):
        with httpx.Client(base_url=web.url, headers={b"Cookie": raw}) as client:
            assert client.get("/").status_code == 200
            assert client.get("/account/stars").status_code == 303


def test_a_private_repository_is_not_found_by_others(web: IndexServer) -> None:
    owner, other = fresh("owner"), fresh("other")
    create_account(web.url, owner, PASSWORD)
    name = f"{owner}/secret"
    push(web, (owner, PASSWORD), name)
    with web.api((owner, PASSWORD)) as api:
        answer = api.patch(f"/api/repositories/{name}", json={"visibility": "private"})
        assert answer.status_code == 200
    with sign_in(web.url, owner, PASSWORD) as mine:
        assert mine.get(f"/r/{name}").status_code == 200
        assert name in mine.get("/search", params={"q": "secret"}).text
    with sign_up(web.url, other, PASSWORD) as theirs, httpx.Client(base_url=web.url) as anonymous:
        for client in (theirs, anonymous):
            assert client.get(f"/r/{name}").status_code == 404
            assert client.get(f"/r/{name}/-/tags/v1").status_code == 404
            assert client.get(f"/r/{owner}/nothing-here").status_code == 404
            assert name not in client.get("/search", params={"q": "secret"}).text
            assert name not in client.get(f"/u/{owner}").text
            assert name not in client.get("/").text
        token = csrf_token(theirs, "/")
        starring = theirs.post(f"/r/{name}/-/star", data={"csrf_token": token})
        assert starring.status_code == 404


def test_registry_and_api_answers_keep_their_json_errors(web: IndexServer) -> None:
    assert_error(httpx.get(f"{web.url}/v2/no/such/thing"), 404, "NAME_UNKNOWN")
    assert_error(httpx.get(f"{web.url}/no-such-page"), 404, "NAME_UNKNOWN")
    assert httpx.get(f"{web.url}/v2/").status_code == 401


def test_sign_in_failures_are_throttled_like_the_token_service(web: IndexServer) -> None:
    name = fresh("throttled")
    create_account(web.url, name, PASSWORD)
    statuses = []
    with httpx.Client(base_url=web.url) as client:
        for _ in range(12):
            answer = post_form(client, "/signin", {"username": name, "password": "wrong-one-1"})
            statuses.append(answer.status_code)
    assert statuses[0] == 401
    assert statuses[-1] == 429


def test_bad_page_numbers_and_sorts_are_400_pages(web: IndexServer) -> None:
    for query in ({"page": "0"}, {"page": "x"}, {"sort": "nope"}, {"page": "9" * 40}):
        answer = httpx.get(f"{web.url}/search", params=query)
        assert answer.status_code == 400, query
        assert answer.headers["content-type"].startswith("text/html")
