"""Pull counts, beside pull events: EventLog.pulled counts a manifest's GET for the receivers
that count pulls (the catalogue), and notes every GET for the endpoints that want pulls."""

from __future__ import annotations

import time

from dockyard.config import EndpointSettings
from dockyard.registry.events.model import CURRENT_REQUEST, Source
from dockyard.registry.events.recorder import EventLog

DIGEST = "sha256:" + "c" * 64


def _pulled(events: EventLog, method: str, name: str, kind: str) -> None:
    token = CURRENT_REQUEST.set({"type": "http", "method": method, "headers": []})
    try:
        events.pulled(name, DIGEST, "application/json", 10, None, kind)
    finally:
        CURRENT_REQUEST.reset(token)


def test_a_manifests_gets_are_counted_by_repository_and_heads_and_blobs_are_not() -> None:
    events = EventLog([EndpointSettings(name="all", url="http://a.example/")], Source("n", "i"))
    events.counts_pulls = True  # as a receiver that counts pulls sets it (add_local)
    started = time.time()
    _pulled(events, "GET", "team/app", "manifests")
    _pulled(events, "GET", "team/app", "manifests")
    _pulled(events, "GET", "team/other", "manifests")
    _pulled(events, "HEAD", "team/app", "manifests")
    _pulled(events, "GET", "team/app", "blobs")
    taken = events.take_pull_counts()
    counts = {name: counted.count for name, counted in taken.items()}
    assert counts == {"team/app": 2, "team/other": 1}
    # Dated when taken: within a round of the last pull.
    assert all(started <= counted.last <= time.time() for counted in taken.values())
    assert events.take_pull_counts() == {}  # taken: the next round starts from nothing
    assert len(events.take_pulls()["all"]) == 4  # every GET is an event, the blob's too


def test_without_an_endpoint_gets_are_counted_and_nothing_is_noted() -> None:
    events = EventLog([], Source("n", "i"))
    events.counts_pulls = True
    _pulled(events, "GET", "team/app", "manifests")
    assert events.take_pull_counts()["team/app"].count == 1
    assert events.take_pulls() == {}
