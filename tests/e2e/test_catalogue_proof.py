"""The issue's proof, end to end over real sockets: skopeo pushes a multi-platform image to
Dockyard (index mode) → the events reach a receiver the test runs (Distribution's envelope, one
event per blob and manifest, actor and request filled in) → the catalogue shows the tag with both
platforms and its size → /v1/search and /api/search find it → made private, a stranger finds
it nowhere."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.test_skopeo import multi_arch_layout
from tests.support.clients import Skopeo
from tests.support.images import OCI_INDEX, OCI_MANIFEST
from tests.support.index import ADMIN_PASSWORD, IndexServer
from tests.support.receiver import event_receiver, notifications_config
from tests.support.servers import dockyard_server
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e

ALICE = ("alice", "alice-pw-1")
BOB = ("bob", "bob-pw-1")
NAME = "alice/proof-of-catalogue"
ENVELOPE = "application/vnd.docker.distribution.events.v1+json"


def pushed_contents(index: IndexServer, digest: str) -> tuple[set[str], set[str], int]:
    """The blob digests and manifest digests of the pushed index, and its blobs' total size,
    as the registry serves them (skopeo may rewrite what the layout held)."""
    accept = {"Accept": f"{OCI_INDEX}, {OCI_MANIFEST}"}
    with index.registry(ALICE, f"repository:{NAME}:pull") as registry:

        def read(reference: str) -> dict[str, Any]:
            response = registry.get(f"/v2/{NAME}/manifests/{reference}", headers=accept)
            assert response.status_code == 200, response.text
            document: dict[str, Any] = response.json()
            return document

        manifests, blobs = {digest}, {}
        for child in read(digest)["manifests"]:
            manifests.add(child["digest"])
            image = read(child["digest"])
            for descriptor in [image["config"], *image["layers"]]:
                blobs[descriptor["digest"]] = descriptor["size"]
    return set(blobs), manifests, sum(blobs.values())


def test_a_skopeo_push_reaches_receiver_catalogue_and_search_and_privacy_holds(
    skopeo: Skopeo, tmp_path: Path
) -> None:
    layout = multi_arch_layout(tmp_path / "layout", "v1")
    with event_receiver() as receiver:
        config = tmp_path / "config.yml"
        config.write_text(notifications_config({"name": "proof", "url": receiver.url}))
        env = {"DOCKYARD_AUTH__MODE": "index", "DOCKYARD_ADMIN_PASSWORD": ADMIN_PASSWORD}
        with dockyard_server(tmp_path / "data", "--config", str(config), env=env) as server:
            index = IndexServer(server)
            with index.api() as api:
                for user, password in (ALICE, BOB):
                    body = {"username": user, "email": f"{user}@example.com", "password": password}
                    assert api.post("/api/users", json=body).status_code == 201
            creds = f"{ALICE[0]}:{ALICE[1]}"
            pushed = skopeo.copy(
                f"oci:{layout.path}:v1",
                f"docker://{server.host}/{NAME}:v1",
                "--all",
                "--dest-creds",
                creds,
            )
            blob_digests, manifest_digests, total = pushed_contents(index, pushed)

            # The receiver: one push event per blob and per manifest, in Distribution's form.
            def pushes(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
                return [e for e in events if e["action"] == "push"]

            wanted = len(blob_digests) + len(manifest_digests)
            events = receiver.wait_for(lambda got: len(pushes(got)) >= wanted)
            pushed_events = pushes(events)
            assert sorted(e["target"]["digest"] for e in pushed_events) == sorted(
                blob_digests | manifest_digests
            )
            assert all(d.headers["Content-Type"] == ENVELOPE for d in receiver.accepted)
            for event in pushed_events:
                assert event["actor"] == {"name": "alice"}
                assert event["target"]["repository"] == NAME
                assert event["request"]["method"] in ("PUT", "POST")
                assert "skopeo" in event["request"]["useragent"].lower()
                assert event["request"]["id"] and event["source"]["instanceID"]
            (tagged,) = [e for e in pushed_events if e["target"].get("tag") == "v1"]
            assert tagged["target"]["digest"] == pushed

            # The catalogue: the tag with both platforms, and its size.
            with index.api(ALICE) as alice:

                def tags() -> list[dict[str, Any]] | None:
                    response = alice.get(f"/api/repositories/{NAME}/tags")
                    found: list[dict[str, Any]] = response.json().get("results", [])
                    return found if response.status_code == 200 and found else None

                (tag,) = eventually(tags, what="the tag in the catalogue")
            assert (tag["name"], tag["digest"], tag["pushed_by"]) == ("v1", pushed, "alice")
            assert sorted((p["os"], p["architecture"]) for p in tag["platforms"]) == [
                ("linux", "amd64"),
                ("linux", "arm64"),
            ]
            assert tag["size"] == total

            # Search finds it, anonymously too (public by default).
            with index.api() as anonymous:
                v1 = anonymous.get("/v1/search", params={"q": "proof-of-catalogue"}).json()
                assert [r["name"] for r in v1["results"]] == [NAME]
                found = anonymous.get("/api/search", params={"q": "proof-of"}).json()
                assert [r["name"] for r in found["results"]] == [NAME]

            # Made private: a stranger (anonymous, or bob) finds it nowhere.
            with index.api(ALICE) as alice:
                change = alice.patch(f"/api/repositories/{NAME}", json={"visibility": "private"})
                assert change.status_code == 200
            for credentials in (None, BOB):
                with index.api(credentials) as stranger:
                    v1 = stranger.get("/v1/search", params={"q": "proof-of-catalogue"}).json()
                    assert v1["num_results"] == 0
                    found = stranger.get("/api/search", params={"q": "proof-of"}).json()
                    assert found["total"] == 0
                    everything = stranger.get("/api/search").json()
                    assert NAME not in [r["name"] for r in everything["results"]]
                    assert stranger.get(f"/api/repositories/{NAME}").status_code == 404
                    assert stranger.get(f"/api/repositories/{NAME}/tags").status_code == 404
                    v1_tags = stranger.get(f"/v1/repositories/{NAME}/tags")
                    assert v1_tags.status_code == 401
                scope = f"repository:{NAME}:pull"
                with index.registry(credentials, scope, "registry:catalog:*") as registry:
                    assert registry.get(f"/v2/{NAME}/tags/list").status_code == 401
                    listed = registry.get("/v2/_catalog").json()["repositories"]
                    assert NAME not in listed
            with index.api(ALICE) as alice:
                assert alice.get("/api/search", params={"q": "proof-of"}).json()["total"] == 1
            with httpx.Client(base_url=server.url, auth=ALICE) as owner:
                assert owner.get(f"/v1/repositories/{NAME}/tags").json() == {"v1": pushed}
