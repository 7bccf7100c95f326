"""Registry events (Distribution's notifications): every push, mount, pull and delete reaches
a real receiver in Distribution's envelope, written in the transaction of its change, and
delivered at least once, in order, through refusals and kills."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.auth import basic, htpasswd
from tests.support.images import (
    make_image,
    push_blob,
    push_blobs,
    push_image,
    push_manifest,
    put_manifest,
)
from tests.support.index import ADMIN_PASSWORD, index_server
from tests.support.mirrors import Answer, bad_upstream
from tests.support.postgres import backend_env
from tests.support.receiver import Receiver, event_receiver, notifications_config
from tests.support.servers import DockyardServer, dockyard_server
from tests.support.waiting import eventually

ENVELOPE = "application/vnd.docker.distribution.events.v1+json"
BLOB = "application/octet-stream"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with event_receiver() as receiver:
        yield receiver


ADMIN = ("admin", ADMIN_PASSWORD)


def write_config(path: Path, *endpoints: dict[str, Any], allow_private: bool = True) -> Path:
    path.write_text(notifications_config(*endpoints, allow_private=allow_private))
    return path


def endpoint(receiver: Receiver, name: str = "listener", **extra: Any) -> dict[str, Any]:
    return {"name": name, "url": receiver.url, "timeout": "2s", "backoff": "200ms", **extra}


@pytest.fixture(params=["sqlite", "postgresql"])
def notifying_server(
    request: pytest.FixtureRequest, receiver: Receiver, tmp_path: Path
) -> Iterator[DockyardServer]:
    """A server with Basic auth (so events carry an actor) sending every event to `receiver`."""
    users = tmp_path / "htpasswd"
    htpasswd(users, "alice", "wonderland")
    config = write_config(
        tmp_path / "config.yml", endpoint(receiver, headers={"Authorization": ["Bearer s3cret"]})
    )
    with ExitStack() as stack:
        env = stack.enter_context(backend_env(request.param, request))
        env |= {"DOCKYARD_AUTH__MODE": "htpasswd", "DOCKYARD_AUTH__HTPASSWD__PATH": str(users)}
        yield stack.enter_context(
            dockyard_server(tmp_path / "data", "--config", str(config), env=env)
        )


def test_push_mount_pull_and_delete_events_arrive_in_distributions_format(
    notifying_server: DockyardServer, receiver: Receiver
) -> None:
    image = make_image("events", layers=1)
    config_digest, layer_digest = (
        push_blob_digest(image.config),
        push_blob_digest(image.layers[0]),
    )
    auth = basic("alice", "wonderland") | {"User-Agent": "events-test/1.0"}
    with httpx.Client(base_url=notifying_server.url, headers=auth, timeout=30) as client:
        push_blobs(client, "team/app", image)
        tagged = push_manifest(client, "team/app", "v1", image.manifest, image.media_type)
        push_manifest(client, "team/app", image.digest, image.manifest, image.media_type)
        mounted = client.post(
            "/v2/team/copy/blobs/uploads/", params={"mount": layer_digest, "from": "team/app"}
        )
        assert mounted.status_code == 201
        assert client.get("/v2/team/app/manifests/v1").status_code == 200
        assert client.head("/v2/team/app/manifests/v1").status_code == 200  # HEAD: no pull
        assert client.get(f"/v2/team/app/blobs/{layer_digest}").status_code == 200
        assert client.delete("/v2/team/app/manifests/v1").status_code == 202
        assert client.delete(f"/v2/team/app/manifests/{image.digest}").status_code == 202
        assert client.delete(f"/v2/team/copy/blobs/{layer_digest}").status_code == 202

    # Pushes, the mount and deletes in the order they happened; pulls are written in batches.
    events = receiver.wait_for_count(10)
    assert len(events) == 10
    changes = [e for e in events if e["action"] != "pull"]
    summary = [(e["action"], e["target"]["repository"], e["target"].get("tag")) for e in changes]
    assert summary == [
        ("push", "team/app", None),  # the config blob
        ("push", "team/app", None),  # the layer
        ("push", "team/app", "v1"),
        ("push", "team/app", None),  # the same manifest by digest
        ("mount", "team/copy", None),
        ("delete", "team/app", "v1"),
        ("delete", "team/app", None),
        ("delete", "team/copy", None),
    ]
    config_push, layer_push, manifest_push, digest_push, mount = changes[:5]
    host = notifying_server.host
    assert config_push["target"] == {
        "mediaType": BLOB,
        "size": len(image.config),
        "digest": config_digest,
        "length": len(image.config),
        "repository": "team/app",
        "url": f"http://{host}/v2/team/app/blobs/{config_digest}",
    }
    assert layer_push["target"]["digest"] == layer_digest
    assert manifest_push["target"] == {
        "mediaType": image.media_type,
        "size": len(image.manifest),
        "digest": image.digest,
        "length": len(image.manifest),
        "repository": "team/app",
        "url": f"http://{host}/v2/team/app/manifests/{image.digest}",
        "tag": "v1",
    }
    assert "tag" not in digest_push["target"]
    assert mount["target"]["fromRepository"] == "team/app"
    assert mount["target"]["digest"] == layer_digest
    assert mount["target"]["size"] == len(image.layers[0])
    # Deletes carry what Distribution's do: the repository and the digest (or the tag).
    assert changes[5]["target"] == {"repository": "team/app", "tag": "v1"}
    assert changes[6]["target"] == {"repository": "team/app", "digest": image.digest}
    assert changes[7]["target"] == {"repository": "team/copy", "digest": layer_digest}

    pulls = [e for e in events if e["action"] == "pull"]
    assert [p["target"]["digest"] for p in pulls] == [image.digest, layer_digest]
    assert pulls[0]["target"]["tag"] == "v1"
    assert pulls[0]["target"]["mediaType"] == image.media_type
    assert pulls[1]["target"]["mediaType"] == BLOB
    assert pulls[1]["target"]["url"].endswith(f"/v2/team/app/blobs/{layer_digest}")

    request_ids = {tagged.headers["x-request-id"]}
    for event in events:
        assert set(event) == {"id", "timestamp", "action", "target", "request", "actor", "source"}
        assert event["timestamp"].endswith("Z")
        assert event["actor"] == {"name": "alice"}
        request = event["request"]
        assert request["host"] == host
        assert request["addr"].startswith("127.0.0.1:")
        assert request["useragent"] == "events-test/1.0"
        assert len(request["id"]) == 32
        assert event["source"]["addr"].endswith(f":{host.rpartition(':')[2]}")
        assert event["source"]["instanceID"]
    assert manifest_push["request"]["id"] in request_ids
    assert manifest_push["request"]["method"] == "PUT"
    assert mount["request"]["method"] == "POST"
    assert pulls[0]["request"]["method"] == "GET"
    assert len({e["id"] for e in events}) == 10
    for delivery in receiver.accepted:
        assert delivery.headers["Content-Type"] == ENVELOPE
        assert delivery.headers["Authorization"] == "Bearer s3cret"
        assert set(delivery.envelope) == {"events"}


def push_blob_digest(data: bytes) -> str:
    from tests.support.images import sha256

    return sha256(data)


def test_a_manifest_refused_for_a_missing_blob_records_no_event(
    receiver: Receiver, tmp_path: Path
) -> None:
    config = write_config(tmp_path / "config.yml", endpoint(receiver))
    image = make_image("refused", layers=1)
    with (
        dockyard_server(tmp_path / "data", "--config", str(config)) as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        push_blob(client, "refused", image.config)  # the layer is never pushed
        assert put_manifest(client, "refused", "v1", image).status_code == 400
        # A later push, to know that everything before it was delivered.
        push_blob(client, "refused", b"marker")
        events = receiver.wait_for_count(2)
    assert [e["action"] for e in events] == ["push", "push"]
    assert all(e["target"].get("mediaType") == BLOB for e in events)


def test_endpoints_filter_actions_and_media_types_and_can_switch_pulls_off(
    tmp_path: Path,
) -> None:
    image = make_image("filters", layers=1)
    with event_receiver() as no_pulls, event_receiver() as no_blobs, event_receiver() as off:
        config = write_config(
            tmp_path / "config.yml",
            endpoint(no_pulls, "no-pulls", pullsampling=0),
            endpoint(
                no_blobs, "no-blobs", ignoredmediatypes=[BLOB], ignore={"actions": ["delete"]}
            ),
            endpoint(off, "off", disabled=True),
        )
        with (
            dockyard_server(tmp_path / "data", "--config", str(config)) as server,
            httpx.Client(base_url=server.url, timeout=30) as client,
        ):
            push_blobs(client, "filters", image)
            push_manifest(client, "filters", "v1", image.manifest, image.media_type)
            assert client.get("/v2/filters/manifests/v1").status_code == 200
            assert client.delete("/v2/filters/manifests/v1").status_code == 202
            no_pulls_events = no_pulls.wait_for_count(4)  # 3 pushes, 1 delete
            no_blobs_events = no_blobs.wait_for_count(2)  # the manifest push and its pull
        assert [e["action"] for e in no_pulls_events] == ["push", "push", "push", "delete"]
        assert [e["action"] for e in no_blobs_events] == ["push", "pull"]
        assert off.events == []


def test_a_receiver_that_refuses_for_a_while_loses_nothing_and_gets_events_in_order(
    receiver: Receiver, tmp_path: Path
) -> None:
    config = write_config(tmp_path / "config.yml", endpoint(receiver, threshold=2))
    receiver.refusing = True
    blobs = [f"refused-{i}".encode() for i in range(30)]
    with (
        dockyard_server(tmp_path / "data", "--config", str(config)) as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        for blob in blobs:
            push_blob(client, "patient", blob)
        # Pulls while the receiver refuses are kept in the outbox too.
        pulled = push_blob_digest(blobs[0])
        for _ in range(5):
            assert client.get(f"/v2/patient/blobs/{pulled}").status_code == 200
        receiver.wait_for(lambda _: receiver.refused >= 3)
        receiver.refusing = False
        events = receiver.wait_for_count(len(blobs) + 5)
    pushes = [e for e in events if e["action"] == "push"]
    assert [e["target"]["digest"] for e in pushes] == [push_blob_digest(b) for b in blobs]
    pulls = [e for e in events if e["action"] == "pull"]
    assert len(pulls) == 5 and all(p["target"]["digest"] == pulled for p in pulls)


def test_a_server_killed_with_events_pending_delivers_every_one_after_its_restart(
    receiver: Receiver, tmp_path: Path
) -> None:
    config = write_config(tmp_path / "config.yml", endpoint(receiver))
    receiver.refusing = True
    blobs = [f"killed-{i}".encode() for i in range(20)]
    data = tmp_path / "data"
    with dockyard_server(data, "--config", str(config)) as server:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            for blob in blobs[:10]:
                push_blob(client, "survivor", blob)
            receiver.wait_for(lambda _: receiver.refused >= 1)
            receiver.refusing = False
            for blob in blobs[10:]:
                push_blob(client, "survivor", blob)
        # Killed while delivering or about to: whatever was sent or not.
        server.stop(signal.SIGKILL)
    with dockyard_server(data, "--config", str(config)):
        expected = [push_blob_digest(b) for b in blobs]
        events = receiver.wait_for(
            lambda events: {e["target"]["digest"] for e in events} >= set(expected)
        )
    # At least once: a repeat is the same event (same id), and nothing is missing.
    by_id: dict[str, str] = {}
    for event in events:
        assert by_id.setdefault(event["id"], event["target"]["digest"]) == event["target"]["digest"]
    assert sorted(by_id.values()) == sorted(expected)
    first_seen = list(dict.fromkeys(e["target"]["digest"] for e in events))
    assert first_seen == expected


def run_events_command(config: Path, data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dockyard.cli", "events", *args, "--config", str(config),
         "--data", str(data)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_events_command_shows_the_backlog_and_last_failure_and_retries_or_discards(
    receiver: Receiver, tmp_path: Path
) -> None:
    config = write_config(tmp_path / "config.yml", endpoint(receiver, threshold=1))
    data = tmp_path / "data"
    receiver.refusing = True
    with (
        dockyard_server(data, "--config", str(config)) as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        for i in range(3):
            push_blob(client, "waiting", f"waiting-{i}".encode())
        # The first round may have carried only the first event: wait until each has failed,
        # and the server has written the last failure down (after the receiver answered it).
        receiver.wait_for(lambda _: len(receiver.refused_ids) >= 3)
        line = eventually(lambda: _counted(run_events_command(config, data), "3", "3"))
    assert "s ago" in line and "HTTP 503" in line
    # Taken out of the configuration, its backlog stays, and says so.
    without = write_config(tmp_path / "without.yml")
    removed = _counted(run_events_command(without, data), "3", "3")
    assert removed is not None and removed.split()[1] == "removed"

    retried = run_events_command(config, data, "retry", "listener")
    assert retried.returncode == 0, retried.stderr
    assert "3 failed events of listener" in retried.stdout
    discarded = run_events_command(config, data, "discard", "listener")
    assert discarded.stdout.strip() == "discarded 3 failed events of listener"
    assert _counted(run_events_command(config, data, "status"), "0", "0")
    for action in ("retry", "discard"):  # a mistyped name is not told "0 events"
        mistyped = run_events_command(config, data, action, "listner")
        assert mistyped.returncode == 1 and "no endpoint 'listner'" in mistyped.stderr


def test_events_command_names_dockyards_own_receivers_built_in(tmp_path: Path) -> None:
    # They were "unknown": no configured endpoint has their names.
    data = tmp_path / "data"
    with index_server(data) as index:
        with index.registry(ADMIN, "repository:admin/shown:pull,push") as registry:
            push_image(registry, "admin/shown", make_image("built-in"), "v1")
        index.tagged("admin/shown", "v1")
    shown = run_events_command(write_config(tmp_path / "none.yml"), data)
    states = {line.split()[0]: line.split()[1] for line in shown.stdout.splitlines()[1:]}
    assert states["@catalogue"] == states["@webhooks"] == "built-in", shown.stdout


def _counted(status: subprocess.CompletedProcess[str], backlog: str, failed: str) -> str | None:
    """The listener's line of `dockyard events` when it shows this backlog and failed count."""
    assert status.returncode == 0, status.stderr
    line = next(line for line in status.stdout.splitlines() if line.startswith("listener"))
    return line if line.split()[2:4] == [backlog, failed] else None


def test_an_endpoint_on_an_internal_address_is_refused_unless_allowed(
    receiver: Receiver, tmp_path: Path
) -> None:
    config = write_config(tmp_path / "config.yml", endpoint(receiver), allow_private=False)
    data = tmp_path / "data"
    with (
        dockyard_server(data, "--config", str(config)) as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        push_blob(client, "internal", b"never sent")
        for _ in range(100):
            status = run_events_command(config, data)
            if "internal address" in status.stdout:
                break
    assert "refused: 127.0.0.1 resolves to the internal address 127.0.0.1" in status.stdout
    assert receiver.events == [] and receiver.refused == 0


def test_hundreds_of_pulls_written_in_batches_each_arrive_once(
    receiver: Receiver, tmp_path: Path
) -> None:
    config = write_config(tmp_path / "config.yml", endpoint(receiver))
    image = make_image("many-pulls", layers=1)
    with (
        dockyard_server(tmp_path / "data", "--config", str(config)) as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        push_blobs(client, "popular", image)
        push_manifest(client, "popular", "v1", image.manifest, image.media_type)
        request_ids = set()
        for _ in range(250):
            response = client.get("/v2/popular/manifests/v1")
            assert response.status_code == 200
            request_ids.add(response.headers["x-request-id"])
        events = receiver.wait_for(lambda events: sum(e["action"] == "pull" for e in events) >= 250)
    pulls = [e for e in events if e["action"] == "pull"]
    assert len(pulls) == 250 and len({p["id"] for p in pulls}) == 250
    assert {p["request"]["id"] for p in pulls} == request_ids
    assert all(p["target"]["tag"] == "v1" and p["target"]["digest"] == image.digest for p in pulls)


# An answer whose body never ends: a byte every half second, each within any read timeout.
ENDLESS = Answer(200, pieces=(b"x",) * 100_000, pause=0.5)


def test_an_endpoint_that_never_finishes_answering_holds_up_no_other(tmp_path: Path) -> None:
    with event_receiver() as receiver, bad_upstream({("POST", "/events"): ENDLESS}) as stuck:
        # Listed first, and with a timeout longer than the test waits: the receiver after it
        # gets its events only if endpoints are sent to apart.
        slow = {"name": "stuck", "url": f"http://{stuck}/events", "timeout": "300s"}
        config = write_config(tmp_path / "config.yml", slow, endpoint(receiver))
        with (
            dockyard_server(tmp_path / "data", "--config", str(config)) as server,
            httpx.Client(base_url=server.url, timeout=30) as client,
        ):
            for i in range(3):  # events of later rounds too
                push_blob(client, "busy", f"busy-{i}".encode())
                receiver.wait_for_count(i + 1)


def test_an_answer_that_never_ends_is_cut_at_the_endpoints_timeout(tmp_path: Path) -> None:
    with bad_upstream({("POST", "/events"): ENDLESS}) as stuck:
        slow = {"name": "listener", "url": f"http://{stuck}/events", "timeout": "1s"}
        config = write_config(tmp_path / "config.yml", slow)
        data = tmp_path / "data"
        with (
            dockyard_server(data, "--config", str(config)) as server,
            httpx.Client(base_url=server.url, timeout=30) as client,
        ):
            push_blob(client, "trickled", b"trickled")
            line = eventually(lambda: _counted(run_events_command(config, data), "1", "1"))
    assert "timed out after 1 s" in line
