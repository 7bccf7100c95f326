"""Replication (docs/operations.md#replication): Dockyard to Distribution (htpasswd) as tags
are pushed, Distribution to Dockyard on a schedule, the destination's images pulled back and
compared by digest; a destination away for a while catches up; a Dockyard killed mid-copy
finishes the copy once restarted."""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from dockyard.client import Credential, RegistryClient, RegistryError, StaticCredentials
from dockyard.oci.digest import Digest
from tests.support.auth import htpasswd
from tests.support.client_images import MultiPlatform, multi_platform, pull, push
from tests.support.distribution import distribution_server
from tests.support.images import OCI_INDEX, OCI_MANIFEST, Image, descriptor, make_image
from tests.support.index import ADMIN_PASSWORD, index_server
from tests.support.mirrors import Answer, bad_upstream
from tests.support.postgres import backend_env
from tests.support.servers import (
    DockyardServer,
    dockyard_server,
    free_port,
    spawn_dockyard,
    wait_until_answers,
)
from tests.support.tcp_proxy import tcp_proxy

ALICE = Credential("alice", "wonderland")


@pytest.fixture(scope="module")
def users(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("replication-users") / "htpasswd"
    htpasswd(path, "alice", "wonderland")
    return path


def auth_of(users: Path) -> str:
    return f"auth:\n  htpasswd: {{realm: basic-realm, path: {users}}}\n"


def replication_env(*rules: dict[str, Any]) -> dict[str, str]:
    """A Dockyard replicating by these rules; loopback opened, short leases."""
    settings = {"rules": list(rules), "allow": ["127.0.0.1"], "lease_seconds": 3}
    return {"DOCKYARD_REPLICATION": json.dumps(settings)}


def rule(name: str, direction: str, port: int, **more: Any) -> dict[str, Any]:
    """A rule with the other registry (Distribution as alice) at `port`; quick retries."""
    return {
        "name": name,
        "direction": direction,
        "registry": f"http://127.0.0.1:{port}",
        "username": "alice",
        "password": "wonderland",
        "backoff_seconds": 0.3,
        "max_backoff_seconds": 1,
        "max_attempts": 1000,
        **more,
    }


def _with_client(host: str, who: Credential | None, main: Callable[[Any], Any]) -> Any:
    async def wrapped() -> Any:
        async with RegistryClient(StaticCredentials({host: who} if who else {})) as client:
            return await main(client.registry(host))

    return asyncio.run(wrapped())


def push_image(
    host: str, name: str, tag: str, image: MultiPlatform, who: Credential | None
) -> None:
    async def main(registry: Any) -> None:
        await push(registry.repository(name), image, tag)

    _with_client(host, who, main)


def pull_back(host: str, name: str, tag: str, image: MultiPlatform, who: Credential | None) -> None:
    """Every platform of the image pulled from `host`: the same index digest, the same
    manifests and blobs as pushed."""

    async def main(registry: Any) -> None:
        repository = registry.repository(name)
        found = await repository.head_manifest(tag)
        assert found is not None and found.digest == Digest.of(image.index)
        await pull(repository, tag, image)

    _with_client(host, who, main)


def wait_for_tag(host: str, name: str, tag: str, who: Credential | None, seconds: float) -> None:
    async def main(registry: Any) -> None:
        repository = registry.repository(name)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                if await repository.head_manifest(tag) is not None:
                    return
            except RegistryError:  # the other registry away a moment
                pass
            await asyncio.sleep(0.2)
        raise AssertionError(f"{host}/{name}:{tag} did not arrive within {seconds} s")

    _with_client(host, who, main)


def catalog(host: str, who: Credential | None) -> list[str]:
    async def main(registry: Any) -> list[str]:
        return [name async for name in registry.catalog()]

    found: list[str] = _with_client(host, who, main)
    return found


def cli(data: Path, env: dict[str, str], *words: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "dockyard.cli", "replication", *words, "--data", str(data)]
    return subprocess.run(
        command, capture_output=True, text=True, env={**os.environ, **env}, check=False
    )


def runs_of(data: Path, env: dict[str, str]) -> list[dict[str, Any]]:
    done = cli(data, env, "runs", "--json")
    assert done.returncode == 0, done.stderr
    found: list[dict[str, Any]] = json.loads(done.stdout)
    return found


def until(find: Callable[[], dict[str, Any] | None], seconds: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = find()
        if found is not None:
            return found
        time.sleep(0.3)
    raise AssertionError("the run looked for did not come")


def the_run(
    data: Path, env: dict[str, str], name: str, tag: str, wanted: Callable[[dict[str, Any]], bool]
) -> dict[str, Any] | None:
    for found in runs_of(data, env):
        if found["repository"] == name and found["tag"] == tag and wanted(found):
            return found
    return None


def test_pushes_are_copied_to_distribution_which_catches_up_after_being_away(
    tmp_path: Path, users: Path
) -> None:
    root, port = tmp_path / "distribution", free_port()
    first, second = multi_platform("replicated-one"), multi_platform("replicated-two")
    env = replication_env(rule("to-distribution", "push", port, repositories=["team/*"]))
    data = tmp_path / "dockyard"
    with dockyard_server(data, env=env) as dockyard:
        with distribution_server(root, auth_of(users), port) as other:
            push_image(dockyard.host, "team/app", "v1", first, None)
            push_image(dockyard.host, "other/app", "v1", first, None)  # no rule copies it
            wait_for_tag(other.host, "team/app", "v1", ALICE, 30)
            pull_back(other.host, "team/app", "v1", first, ALICE)
            copied = until(lambda: the_run(data, env, "team/app", "v1", _done))
            assert copied["bytes"] >= sum(len(blob) for blob in first.blobs)
            assert copied["digest"] == str(Digest.of(first.index))

            # The same image under another tag: the destination has every blob, none is sent.
            push_image(dockyard.host, "team/app", "again", first, None)
            again = until(lambda: the_run(data, env, "team/app", "again", _done))
            assert again["bytes"] == 0 and again["blobs_sent"] == 0
            assert again["blobs_skipped"] == len(first.blobs)

            # The same tag pushed again at the same digest: nothing is written there (two
            # registries replicating to each other do not send a tag back and forth).
            push_image(dockyard.host, "team/app", "v1", first, None)
            latest = until(lambda: _second_run_done(data, env, "team/app", "v1"))
            assert (latest["blobs_sent"], latest["blobs_skipped"], latest["bytes"]) == (0, 0, 0)

        # Distribution away: the copy is tried again and again, each failure one line.
        push_image(dockyard.host, "team/app", "v2", second, None)
        failing = until(lambda: the_run(data, env, "team/app", "v2", _tried))
        assert failing["state"] == "pending" and "\n" not in failing["error"]

        # Back on the same port and data: the backlog is delivered.
        with distribution_server(root, auth_of(users), port) as other:
            wait_for_tag(other.host, "team/app", "v2", ALICE, 60)
            pull_back(other.host, "team/app", "v2", second, ALICE)
            pull_back(other.host, "team/app", "v1", first, ALICE)
            assert "other/app" not in catalog(other.host, ALICE)
            until(lambda: the_run(data, env, "team/app", "v2", _done))

    table = cli(data, env)
    assert table.returncode == 0, table.stderr
    assert "to-distribution" in table.stdout and "push" in table.stdout
    unknown = cli(data, env, "runs", "--rule", "nope")
    assert unknown.returncode == 1 and unknown.stderr.count("\n") == 1


def test_distribution_is_copied_to_dockyard_on_a_schedule(tmp_path: Path, users: Path) -> None:
    image, later = multi_platform("scheduled-one"), multi_platform("scheduled-two")
    port = free_port()
    with distribution_server(tmp_path / "distribution", auth_of(users), port) as other:
        push_image(other.host, "lib/tool", "1.0", image, ALICE)
        push_image(other.host, "private/tool", "1.0", image, ALICE)  # not the rule's
        every = rule("from-distribution", "pull", port, repositories=["lib/*"],
                     tags=["1.*"], schedule_minutes=0.02)  # fmt: skip
        env = replication_env(every)
        data = tmp_path / "dockyard"
        with dockyard_server(data, env=env) as dockyard:
            wait_for_tag(dockyard.host, "lib/tool", "1.0", None, 30)
            pull_back(dockyard.host, "lib/tool", "1.0", image, None)
            # A tag pushed there later arrives at the next comparison; one the rule leaves
            # out never does.
            push_image(other.host, "lib/tool", "1.1", later, ALICE)
            push_image(other.host, "lib/tool", "latest", later, ALICE)
            wait_for_tag(dockyard.host, "lib/tool", "1.1", None, 30)
            pull_back(dockyard.host, "lib/tool", "1.1", later, None)
            time.sleep(2)  # a comparison or more later
            assert catalog(dockyard.host, None) == ["lib/tool"]
            tags = [found["tag"] for found in runs_of(data, env)]
            assert sorted(tags) == ["1.0", "1.1"]  # compared many times, copied once each


def test_a_copy_cut_by_sigkill_is_made_after_the_restart(tmp_path: Path, users: Path) -> None:
    # A large layer, so that the copy is still going when the kill comes.
    big = make_image("killed-copy", layers=1)
    big = Image(big.config, [os.urandom(96 << 20)])
    port, dockyard_port = free_port(), free_port()
    env = replication_env(rule("to-distribution", "push", port))
    data = tmp_path / "dockyard"
    with distribution_server(tmp_path / "distribution", auth_of(users), port) as other:
        process, log = spawn_dockyard(
            data, dockyard_port, env={"DOCKYARD_AUTH__MODE": "none", **env}
        )
        server = DockyardServer(f"http://127.0.0.1:{dockyard_port}", f"127.0.0.1:{dockyard_port}",
                                data, log, process)  # fmt: skip
        try:
            wait_until_answers(f"{server.url}/v2/", process, log)
            _push_single(server.host, "big/app", "v1", big)
            leased = _until_leased(data / "registry.db")
            server.stop(signal.SIGKILL)
        finally:
            server.stop()
        assert leased == ("pending", 0)
        with sqlite3.connect(data / "registry.db") as connection:
            left = connection.execute("SELECT state, lease_owner FROM replication_runs").fetchall()
        (state, owner), *more = left
        assert (state, more) == ("pending", []) and owner is not None  # killed mid-copy
        with dockyard_server(data, env=env) as restarted:
            del restarted
            wait_for_tag(other.host, "big/app", "v1", ALICE, 90)
            done = until(lambda: the_run(data, env, "big/app", "v1", _done), 30)
            assert done["attempts"] == 1  # the killed attempt never recorded one
        assert _pulled_layer_digest(other.host, "big/app", "v1") == Digest.of(big.layers[0])


def _push_single(host: str, name: str, tag: str, image: Image) -> None:
    async def main(registry: Any) -> None:
        repository = registry.repository(name)
        for blob in (image.config, *image.layers):
            await repository.push_blob(blob)
        await repository.put_manifest(image.manifest, image.media_type, tag)

    _with_client(host, None, main)


def _until_leased(database: Path) -> tuple[str, int]:
    """The first moment a run is held by a worker: its state and attempts then."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with sqlite3.connect(database) as connection:
            found = connection.execute(
                "SELECT state, attempts FROM replication_runs WHERE lease_owner IS NOT NULL"
            ).fetchone()
        if found is not None:
            return str(found[0]), int(found[1])
        time.sleep(0.02)
    raise AssertionError("no copy started")


def _pulled_layer_digest(host: str, name: str, tag: str) -> Digest:
    async def main(registry: Any) -> Digest:
        repository = registry.repository(name)
        manifest = (await repository.manifest(tag)).image()
        layer = manifest.layers[0]
        data = await repository.blob_bytes(layer.digest, layer.size)
        return Digest.of(data)

    found: Digest = _with_client(host, ALICE, main)
    return found


def _second_run_done(data: Path, env: dict[str, str], name: str, tag: str) -> dict[str, Any] | None:
    """The newer of the tag's two runs, once both are done."""
    found = [r for r in runs_of(data, env) if (r["repository"], r["tag"]) == (name, tag)]
    return found[0] if len(found) == 2 and all(r["state"] == "done" for r in found) else None


def _all_done(data: Path, env: dict[str, str], count: int) -> dict[str, Any] | None:
    found = runs_of(data, env)
    finished = [run for run in found if run["state"] == "done"]
    return {"runs": found} if len(finished) == count else None


def _done(found: dict[str, Any]) -> bool:
    return bool(found["state"] == "done")


def _tried(found: dict[str, Any]) -> bool:
    return bool(found["attempts"] >= 2 and found["error"])


def test_index_mode_copies_one_platform_with_its_referrers_and_shows_runs_to_admins_only(
    tmp_path: Path, users: Path
) -> None:
    image = multi_platform("one-platform")
    arm = image.images["linux/arm64/v8"]
    port = free_port()
    chosen = rule(
        "arm-only", "push", port, tags=["v*"], platforms=["linux/arm64/v8"], referrers=True
    )
    pulled = rule("from-distribution", "pull", port, repositories=["admin/tool"],
                  schedule_minutes=0.02)  # fmt: skip
    env = replication_env(chosen, pulled)
    settings = json.loads(env["DOCKYARD_REPLICATION"])
    settings |= {"username": "admin", "password": ADMIN_PASSWORD}
    env = {"DOCKYARD_REPLICATION": json.dumps(settings)}
    admin = Credential("admin", ADMIN_PASSWORD)
    with (
        distribution_server(tmp_path / "distribution", auth_of(users), port) as other,
        index_server(tmp_path / "dockyard" / "data", env) as index,
    ):
        host = index.server.host
        # Pulled on a schedule into index mode: written with the administrator's tokens.
        tool = multi_platform("pulled-into-index")
        push_image(other.host, "admin/tool", "1.0", tool, ALICE)
        wait_for_tag(host, "admin/tool", "1.0", admin, 30)
        pull_back(host, "admin/tool", "1.0", tool, admin)
        # Under a tag the rule leaves out, then signed, then tagged as the rule copies it.
        push_image(host, "admin/app", "staging", image, admin)
        signature = _attach(host, "admin/app", arm.manifest, admin)
        _tag(host, "admin/app", "v1", image.index, admin)
        with index.api(("admin", ADMIN_PASSWORD)) as api:

            def done() -> dict[str, Any] | None:
                answer = api.get("/api/replication/runs", params={"rule": "arm-only"})
                assert answer.status_code == 200, answer.text
                runs = answer.json()["runs"]
                return runs[0] if runs and runs[0]["state"] == "done" else None

            run = until(done)
        assert run["digest"] == str(Digest.of(arm.manifest)) and run["tag"] == "v1"

        async def copied(registry: Any) -> tuple[Any, list[Any]]:
            repository = registry.repository("admin/app")
            top = await repository.manifest("v1")
            return top, await repository.referrers(top.digest)

        top, referrers = _with_client(other.host, ALICE, copied)
        # The arm64 image alone, by its own digest; the signature of it came along.
        assert top.body == arm.manifest and not top.is_index
        assert [found.digest for found in referrers] == [signature]

        with index.api(("admin", ADMIN_PASSWORD)) as api:
            rules = api.get("/api/replication")
            assert rules.status_code == 200, rules.text
            shown, scheduled = rules.json()["rules"]
            assert shown["name"] == "arm-only" and shown["done"] >= 1
            assert (scheduled["name"], scheduled["direction"]) == ("from-distribution", "pull")
            assert shown["bytes"] >= len(arm.config) + sum(map(len, arm.layers))
            assert api.get("/api/replication/runs", params={"rule": "x"}).status_code == 404
        with index.api() as api:
            body = {"username": "mallory", "email": "m@example.com", "password": "mallory-pw-1"}
            assert api.post("/api/users", json=body).status_code == 201
            assert api.get("/api/replication").status_code == 401
        with index.api(("mallory", "mallory-pw-1")) as api:
            assert api.get("/api/replication").status_code == 403
            assert api.get("/api/replication/runs").status_code == 403


def test_a_registry_at_an_internal_address_is_refused_unless_allowed(tmp_path: Path) -> None:
    port = free_port()
    settings = {"rules": [rule("inside", "push", port, max_attempts=1)]}  # no allow-list
    env = {"DOCKYARD_REPLICATION": json.dumps(settings)}
    data = tmp_path / "dockyard"
    with dockyard_server(data, env=env) as dockyard:
        push_image(dockyard.host, "team/app", "v1", multi_platform("refused"), None)
        failed = until(lambda: the_run(data, env, "team/app", "v1", _failed))
        assert "internal address 127.0.0.1" in failed["error"]
        assert "replication.allow" in failed["error"] and failed["bytes"] == 0


class _Recorder(http.server.BaseHTTPRequestHandler):
    """A registry that answers /v2/ with a token challenge whose realm is `server.realm`,
    and remembers every path it was asked for."""

    def do_GET(self) -> None:
        server: Any = self.server
        server.asked.append(self.path)
        self.send_response(401)
        self.send_header("WWW-Authenticate", f'Bearer realm="{server.realm}",service="trap"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_HEAD = do_GET  # noqa: N815

    def log_message(self, *args: Any) -> None:
        pass


@contextlib.contextmanager
def _recorder(realm: str) -> Iterator[Any]:
    server: Any = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    server.realm, server.asked = realm, []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_a_token_realm_at_an_internal_address_is_refused_though_the_registry_is_allowed(
    tmp_path: Path,
) -> None:
    """The allow-list opens the other registry by name; the token service it names is at an
    address nobody opened: refused, and never called (every request is checked, not only the
    rule's URL, and sent to the address checked)."""
    with _recorder("http://127.0.0.1:1/unused") as internal:
        inside = f"http://127.0.0.1:{internal.server_port}/token"
        with _recorder(inside) as registry:
            other = {**rule("realm", "push", 0, max_attempts=1)}
            other["registry"] = f"http://localhost:{registry.server_port}"
            settings = {"rules": [other], "allow": ["localhost"]}
            env = {"DOCKYARD_REPLICATION": json.dumps(settings)}
            data = tmp_path / "dockyard"
            with dockyard_server(data, env=env) as dockyard:
                push_image(dockyard.host, "team/app", "v1", multi_platform("realm"), None)
                failed = until(lambda: the_run(data, env, "team/app", "v1", _failed))
            assert registry.asked, "the allowed registry was asked"
            assert internal.asked == []
            assert "internal address 127.0.0.1 (not in replication.allow)" in failed["error"]


def _attach(host: str, name: str, subject: bytes, who: Credential) -> Digest:
    """A signature-like artifact whose subject is the manifest `subject`; its digest."""

    async def main(registry: Any) -> Digest:
        repository = registry.repository(name)
        config = b"{}"
        await repository.push_blob(config)
        blob = b"signature of " + str(Digest.of(subject)).encode()
        await repository.push_blob(blob)
        body = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "artifactType": "application/vnd.example.signature",
                "config": descriptor("application/vnd.oci.empty.v1+json", config),
                "layers": [descriptor("application/octet-stream", blob)],
                "subject": descriptor(OCI_MANIFEST, subject),
            }
        ).encode()
        await repository.put_manifest(body, OCI_MANIFEST)
        return Digest.of(body)

    found: Digest = _with_client(host, who, main)
    return found


def _tag(host: str, name: str, tag: str, index: bytes, who: Credential) -> None:
    async def main(registry: Any) -> None:
        await registry.repository(name).put_manifest(index, OCI_INDEX, tag)

    _with_client(host, who, main)


def _failed(found: dict[str, Any]) -> bool:
    return bool(found["state"] == "failed")


def test_two_workers_make_each_copy_once(
    tmp_path: Path, users: Path, database_backend: str, request: pytest.FixtureRequest
) -> None:
    port = free_port()
    images = {f"t{number}": multi_platform(f"two-workers-{number}") for number in range(6)}
    data = tmp_path / "dockyard"
    with backend_env(database_backend, request) as database:
        env = replication_env(rule("to-distribution", "push", port))
        env |= {"DOCKYARD_HTTP__WORKERS": "2", **database}
        with (
            distribution_server(tmp_path / "distribution", auth_of(users), port) as other,
            dockyard_server(data, env=env) as dockyard,
        ):
            for tag, image in images.items():
                push_image(dockyard.host, "team/app", tag, image, None)
            for tag, image in images.items():
                wait_for_tag(other.host, "team/app", tag, ALICE, 60)
                pull_back(other.host, "team/app", tag, image, ALICE)
            until(lambda: _all_done(data, env, len(images)))
            found = runs_of(data, env)
    assert sorted(run["tag"] for run in found) == sorted(images)
    assert all(run["state"] == "done" and run["attempts"] == 1 for run in found)


# An answer whose body comes a byte every half second, each within the client's read
# timeout: what reads it never ends.
ENDLESS = Answer(400, pieces=(b"x",) * 100_000, pause=0.5)  # an error: the client reads it
# What a rule's registry never finishes answering: the upload of a push rule's copy, or the
# catalogue that a pull rule's comparison reads; and the rule's direction.
STUCK = {
    "copy": (("POST", "/v2/slow/app/blobs/uploads/"), "push"),
    "comparison": (("GET", "/v2/_catalog"), "pull"),
}


@pytest.mark.parametrize("stuck_at", ["copy", "comparison"])
def test_a_registry_that_never_finishes_answering_holds_up_no_other_rule(
    tmp_path: Path, stuck_at: str
) -> None:
    # Two copies at once; the copy of rule `stuck` keeps one place, or its comparison runs.
    stuck_path, stuck_direction = STUCK[stuck_at]
    seen: list[str] = []
    with (
        bad_upstream({stuck_path: ENDLESS}, seen) as stuck,
        dockyard_server(tmp_path / "destination") as destination,
    ):
        stuck_rule = rule("stuck", stuck_direction, _port(stuck), repositories=["slow/*"])
        real_rule = rule("real", "push", _port(destination.host), repositories=["fast/*"])
        env = replication_env(stuck_rule, real_rule)
        with dockyard_server(tmp_path / "source", env=env) as source:
            push_image(source.host, "slow/app", "v1", multi_platform("never-copied"), None)
            asked = f"{stuck_path[0]} {stuck_path[1]}"
            until(lambda: {"asked": True} if any(r.startswith(asked) for r in seen) else None)
            for tag in ("v1", "v2", "v3"):
                push_image(source.host, "fast/app", tag, multi_platform(f"fast-{tag}"), None)
            for tag in ("v1", "v2", "v3"):
                wait_for_tag(destination.host, "fast/app", tag, None, 60)


def _port(host: str) -> int:
    return int(host.rsplit(":", 1)[1])


@pytest.mark.parametrize("stuck_at", ["copy", "comparison"])
def test_a_registry_that_trickles_is_given_up_and_tried_again(
    tmp_path: Path, stuck_at: str
) -> None:
    # The same endless answer, with the rule's timeout at 1 s: the attempt is given up (its
    # run records why) and the copy or comparison is made again, where it waited for ever.
    stuck_path, direction = STUCK[stuck_at]
    seen: list[str] = []
    asked = f"{stuck_path[0]} {stuck_path[1]}"
    with bad_upstream({stuck_path: ENDLESS}, seen) as stuck:
        stuck_rule = rule(
            "stuck", direction, _port(stuck), repositories=["slow/*"],
            timeout_seconds=1, schedule_minutes=0.01,
        )  # fmt: skip
        env = replication_env(stuck_rule)
        data = tmp_path / "source"
        with dockyard_server(data, env=env) as source:
            if stuck_at == "copy":
                push_image(source.host, "slow/app", "v1", multi_platform("trickled"), None)
            until(lambda: {"again": True} if sum(r.startswith(asked) for r in seen) > 1 else None)
            if stuck_at == "copy":
                failed = until(lambda: the_run(data, env, "slow/app", "v1", _tried))
                assert failed["state"] == "pending"
                assert "too slow for the rule's timeout_seconds" in failed["error"]


def test_a_slow_registry_that_keeps_the_pace_is_copied_from_in_one_attempt(
    tmp_path: Path,
) -> None:
    # 3 MiB from a registry that sends 512 KiB a second, the rule's timeout at 1 s: the blob
    # takes six seconds, its bytes keeping the pace (64 KiB a second) all along.
    layer = os.urandom(3 << 20)
    image = Image(json.dumps({"architecture": "amd64", "os": "linux"}).encode(), [layer])
    with (
        dockyard_server(tmp_path / "remote") as remote,
        tcp_proxy(remote.host, rate=512 * 1024, slowed="answers") as slow,
    ):
        _push_single(remote.host, "paced/app", "v1", image)
        env = replication_env(rule("slow", "pull", slow.port, timeout_seconds=1))
        data = tmp_path / "local"
        with dockyard_server(data, env=env):
            done = until(lambda: the_run(data, env, "paced/app", "v1", _done), 60)
    assert done["attempts"] == 1 and done["bytes"] >= len(layer), done


class _SlowCatalogue(http.server.BaseHTTPRequestHandler):
    """A registry whose catalogue comes in PAGES pages of 100 names, each after PAGE_SECONDS:
    none of the names is one a rule copies, but the last, `wanted/app`, whose tag `v1` it
    holds (at a digest nothing can be copied from)."""

    PAGES, PAGE_SECONDS = 6, 0.4

    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        if path == "/v2/_catalog":
            time.sleep(self.PAGE_SECONDS)
            page = int(query.rpartition("page=")[2] or 0) if "page=" in query else 0
            names = [f"other/repo-{page}-{n}" for n in range(100)]
            headers = {}
            if page + 1 < self.PAGES:
                headers["Link"] = f'</v2/_catalog?page={page + 1}>; rel="next"'
            else:
                names.append("wanted/app")
            self._json({"repositories": names}, headers)
        elif path == "/v2/wanted/app/tags/list":
            self._json({"name": "wanted/app", "tags": ["v1"]}, {})
        else:
            self._json({}, {})

    def do_HEAD(self) -> None:
        self.send_response(200 if "/manifests/" in self.path else 404)
        self.send_header("Docker-Content-Digest", "sha256:" + "5" * 64)
        self.send_header("Content-Type", OCI_MANIFEST)
        self.send_header("Content-Length", "2")
        self.end_headers()

    def _json(self, document: dict[str, Any], headers: dict[str, str]) -> None:
        body = json.dumps(document).encode()
        self.send_response(200)
        for key, value in {"Content-Type": "application/json", **headers}.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def test_a_long_catalogue_listed_page_by_page_keeps_the_pace(tmp_path: Path) -> None:
    # 2.4 s of pages, the rule's timeout at 1 s: each page's names count, so the comparison
    # reaches the last page and queues the copy of `wanted/app:v1`.
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _SlowCatalogue)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        slow = rule("slow", "pull", port, repositories=["wanted/*"], timeout_seconds=1)
        env = replication_env(slow)
        data = tmp_path / "local"
        with dockyard_server(data, env=env):
            until(lambda: the_run(data, env, "wanted/app", "v1", lambda run: True))
    finally:
        server.shutdown()
        server.server_close()
