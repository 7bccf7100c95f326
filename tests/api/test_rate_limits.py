"""Request rate limits by class, per client address and per account: 429 TOOMANYREQUESTS with
Retry-After past them, other classes and other callers untouched, POST /token in OAuth's shape;
and, with Redis, one count for two nodes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.support.api import assert_error
from tests.support.index import ADMIN_PASSWORD, index_server
from tests.support.nodes import registry_cluster
from tests.support.postgres import PostgresServer
from tests.support.redis import missing_redis_server, redis_server
from tests.support.servers import dockyard_server
from tests.support.tcp_proxy import tcp_proxy
from tests.support.waiting import eventually

ADMIN = ("admin", ADMIN_PASSWORD)


def _away_from_a_minute_edge() -> None:
    """Wait, if need be, until the clock's minute has ten seconds left. The limiter counts per
    minute of the clock and weighs the previous minute's count in, rounded down (the `limits`
    library's sliding window counter): a burst that crosses a minute's edge may be let through
    one request more than the limit, and a fresh-clone run once was."""
    left = 60 - time.time() % 60
    if left < 10:
        time.sleep(left + 0.1)


def _refused(response: httpx.Response) -> None:
    error = assert_error(response, 429, "TOOMANYREQUESTS")
    assert "retry in" in error["message"]
    assert 0 < int(response.headers["retry-after"]) <= 60


def test_pulls_past_the_limit_per_address_are_refused_and_pushes_are_not(tmp_path: Path) -> None:
    env = {"DOCKYARD_RATELIMITS__PULL__PER_ADDRESS": "5/minute"}
    with (
        dockyard_server(tmp_path / "data", env=env) as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        _away_from_a_minute_edge()
        for _ in range(5):
            assert client.get("/v2/limited/app/manifests/latest").status_code == 404
        _refused(client.get("/v2/limited/app/manifests/latest"))
        _refused(client.get("/v2/limited/app/tags/list"))
        assert client.head("/v2/limited/app/manifests/latest").status_code == 429
        assert client.get("/v2/").status_code == 200  # the probe counts in no class
        upload = client.post("/v2/limited/app/blobs/uploads/")
        assert upload.status_code == 202  # a push is another class
    # Refusals are logged like any answer (the last lines are written as the server stops).
    assert " GET /v2/limited/app/manifests/latest 429 " in server.log.read_text()


def test_api_calls_past_the_limit_per_account_are_refused_for_that_account_only(
    tmp_path: Path,
) -> None:
    env = {"DOCKYARD_RATELIMITS__API__PER_ACCOUNT": "3/minute"}
    with index_server(tmp_path / "data", env) as index:
        with index.api() as anonymous:
            body = {"username": "bob", "email": "bob@example.com", "password": "bob-password-1"}
            assert anonymous.post("/api/users", json=body).status_code == 201
        with index.api(ADMIN) as admin:
            _away_from_a_minute_edge()
            answers = [admin.get("/api/user").status_code for _ in range(3)]
            assert answers == [200, 200, 200]
            _refused(admin.get("/api/user"))
        with index.api(("bob", "bob-password-1")) as bob:
            assert bob.get("/api/user").status_code == 200
        with index.api() as anonymous:
            assert anonymous.get("/api/search").status_code == 200  # search is its own class


def test_token_requests_past_the_limit_per_account_are_refused_in_each_endpoints_shape(
    tmp_path: Path,
) -> None:
    env = {"DOCKYARD_RATELIMITS__TOKEN__PER_ACCOUNT": "2/minute"}
    with index_server(tmp_path / "data", env) as index:
        params = {"service": "dockyard", "scope": "repository:admin/app:pull"}
        _away_from_a_minute_edge()
        for _ in range(2):
            assert httpx.get(f"{index.url}/token", params=params, auth=ADMIN).status_code == 200
        _refused(httpx.get(f"{index.url}/token", params=params, auth=ADMIN))
        form = {
            "grant_type": "password",
            "service": "dockyard",
            "client_id": "tests",
            "username": "admin",
            "password": ADMIN_PASSWORD,
        }
        refused = httpx.post(f"{index.url}/token", data=form)
        assert refused.status_code == 429 and refused.json()["error"] == "too_many_requests"
        assert int(refused.headers["retry-after"]) > 0


def test_two_nodes_sharing_redis_hold_the_limit_for_the_sum(
    tmp_path: Path, postgres: PostgresServer, redis_url: str
) -> None:
    env = {
        "DOCKYARD_AUTH__MODE": "none",
        "DOCKYARD_RATELIMITS__PULL__PER_ADDRESS": "6/minute",
        "DOCKYARD_CACHE__REDIS_URL": redis_url,
        "DOCKYARD_CACHE__KEY_PREFIX": f"limits-{uuid.uuid4().hex[:8]}",
    }
    with registry_cluster(tmp_path, postgres, env=env) as cluster:
        _away_from_a_minute_edge()
        statuses = [
            httpx.get(f"{cluster.nodes[i % 2].url}/v2/shared/app/tags/list").status_code
            for i in range(10)
        ]
    assert statuses == [404] * 6 + [429] * 4


def test_a_redis_that_does_not_answer_is_left_alone_for_a_while_not_asked_at_every_request(
    tmp_path: Path,
) -> None:
    # Frozen (as behind a dead network), Redis made every rate-limited request wait the
    # counter's timeout (0.25 s), one after another. Each attempt that times out drops its
    # connection: the proxy's count of connections is the count of attempts.
    reason = missing_redis_server()
    if reason is not None:
        pytest.skip(reason)
    with redis_server() as redis, tcp_proxy(f"127.0.0.1:{redis.port}") as proxy:
        env = {
            "DOCKYARD_RATELIMITS__PULL__PER_ADDRESS": "25/minute",
            "DOCKYARD_CACHE__REDIS_URL": f"redis://{proxy.host}/0",
        }
        with (
            dockyard_server(tmp_path / "data", env=env) as server,
            httpx.Client(base_url=server.url, timeout=30) as client,
        ):
            _away_from_a_minute_edge()
            path = "/v2/frozen/app/tags/list"
            assert client.get(path).status_code == 404
            redis.pause()
            try:
                before = len(proxy.sent)
                statuses = {client.get(path).status_code for _ in range(20)}
                attempts = len(proxy.sent) - before
            finally:
                redis.resume()
            assert statuses == {404}  # let through, uncounted
            assert attempts <= 6, f"{attempts} connections to Redis for 20 requests"
            # Counted again once Redis answers: the limit is reached.
            eventually(lambda: client.get(path).status_code == 429, 30, "the limit counted again")


@pytest.mark.parametrize("rate", ["lots", "5/fortnight", "-1/minute"])
def test_a_rate_that_is_no_rate_stops_start_up_with_the_setting_named(
    tmp_path: Path, rate: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "dockyard.cli", "serve", "--data", str(tmp_path / "data")],
        env={**os.environ, "DOCKYARD_RATELIMITS__PUSH__PER_ACCOUNT": rate},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "ratelimits.push.per_account" in done.stderr and "Traceback" not in done.stderr
