"""Two registry nodes on one PostgreSQL deliver the shared outbox: each event reaches the
endpoint once per attempt, in the order of its changes, whichever node recorded it."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.support.images import push_blob, sha256
from tests.support.nodes import registry_cluster
from tests.support.postgres import PostgresServer
from tests.support.receiver import event_receiver

pytestmark = pytest.mark.slow


def test_two_nodes_deliver_each_event_once_and_in_order(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    with event_receiver() as receiver:
        endpoints = [{"name": "hub", "url": receiver.url, "timeout": "2s", "backoff": "100ms"}]
        env = {
            "DOCKYARD_NOTIFICATIONS__ENDPOINTS": json.dumps(endpoints),
            "DOCKYARD_NOTIFICATIONS__ALLOW_PRIVATE_TARGETS": "true",
        }
        receiver.refusing = True  # both nodes compete for the backlog while it grows
        blobs = [f"node-blob-{i}".encode() for i in range(60)]
        with registry_cluster(tmp_path, postgres, count=2, env=env) as cluster:
            clients = [httpx.Client(base_url=node.url, timeout=30) for node in cluster.nodes]
            for i, blob in enumerate(blobs):
                push_blob(clients[i % 2], "shared/app", blob)
                if i == 30:
                    receiver.wait_for(lambda _: receiver.refused >= 2)
                    receiver.refusing = False
            events = receiver.wait_for_count(len(blobs))
            for client in clients:
                client.close()
    ids = [event["id"] for event in events]
    assert len(ids) == len(set(ids)) == len(blobs)  # accepted once each
    assert [event["target"]["digest"] for event in events] == [sha256(b) for b in blobs]
    # Both nodes recorded events (each stamps its own instance).
    assert len({event["source"]["instanceID"] for event in events}) == 2
