"""The issue's proof for webhooks, over real sockets: skopeo pushes to Dockyard (index mode);
the receiver the test runs answers the hook's first attempt with a 500, lets the second time
out, and accepts the third; Dockyard is killed (SIGKILL) between attempts and started again on
the same data. The delivery history shows every attempt, the receiver got the same body each
time, each signature verifies, and exactly one delivery succeeded: nothing is lost."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_skopeo import single_image_layout
from tests.support.clients import Skopeo
from tests.support.index import ADMIN_PASSWORD, IndexServer
from tests.support.postgres import backend_env
from tests.support.servers import dockyard_server
from tests.support.waiting import eventually
from tests.support.webhook_receiver import HANG, webhook_receiver

pytestmark = pytest.mark.e2e

ALICE = ("alice", "alice-pw-1")
NAME = "alice/proof-of-webhooks"
SETTINGS = {
    "DOCKYARD_AUTH__MODE": "index",
    "DOCKYARD_ADMIN_PASSWORD": ADMIN_PASSWORD,
    "DOCKYARD_INDEX__WEBHOOKS__ALLOW": '["127.0.0.1/32"]',
    "DOCKYARD_INDEX__WEBHOOKS__TIMEOUT": "1.5",
    "DOCKYARD_INDEX__WEBHOOKS__BACKOFF": "1",
    "DOCKYARD_INDEX__WEBHOOKS__MAX_BACKOFF": "2",
}


@contextmanager
def dockyard(data: Path, database: dict[str, str]) -> Iterator[IndexServer]:
    with dockyard_server(data, env={**SETTINGS, **database}) as server:
        yield IndexServer(server)


def history(index: IndexServer, hook: str) -> list[dict[str, Any]]:
    with index.api(ALICE) as api:
        response = api.get(f"{hook}/deliveries")
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["results"]
    return found


# The e2e suite runs on SQLite; this proof is about the queue in the database: both.
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_webhook_survives_failures_a_timeout_and_a_kill_and_arrives_once_signed(
    skopeo: Skopeo, tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    layout = single_image_layout(tmp_path / "layout", "v1")
    data = tmp_path / "data"
    with ExitStack() as stack:
        database = stack.enter_context(backend_env(backend, request))
        receiver = stack.enter_context(webhook_receiver(script=[500, HANG], hang_seconds=4))
        with dockyard(data, database) as index:
            with index.api() as api:
                body = {"username": ALICE[0], "email": "alice@example.com", "password": ALICE[1]}
                assert api.post("/api/users", json=body).status_code == 201
            with index.api(ALICE) as api:
                created = api.post(f"/api/repositories/{NAME}/webhooks", json={"url": receiver.url})
            assert created.status_code == 201, created.text
            hook = created.json()
            path = f"/api/repositories/{NAME}/webhooks/{hook['id']}"
            pushed = skopeo.copy(
                f"oci:{layout.path}:v1",
                f"docker://{index.server.host}/{NAME}:v1",
                "--dest-creds",
                f"{ALICE[0]}:{ALICE[1]}",
            )
            # The first attempt answered 500 and is recorded: kill before the next one.
            eventually(lambda: [d for d in history(index, path) if d["history"]], seconds=60)
            index.server.stop(signal.SIGKILL)

        with dockyard(data, database) as index:

            def delivered() -> list[dict[str, Any]] | None:
                found = history(index, path)
                return found if found and found[0]["state"] == "delivered" else None

            (delivery,) = eventually(delivered, seconds=90, what="the delivery")

    attempts = delivery["history"]
    assert [a["status_code"] for a in attempts] == [500, None, 200]
    assert attempts[1]["error"].startswith("timed out")
    calls = receiver.received()
    assert [c.answered for c in calls] == [500, HANG, 200]
    assert all(c.body == delivery["payload"].encode() for c in calls)
    assert all(c.signed_by(hook["secret"]) for c in calls)
    assert {c.headers["X-Dockyard-Delivery"] for c in calls} == {str(delivery["id"])}
    payload = calls[-1].payload
    assert payload["push_data"]["tag"] == "v1"
    assert payload["push_data"]["pusher"] == "alice"
    assert payload["push_data"]["images"] == [pushed]
    assert payload["repository"]["repo_name"] == NAME
