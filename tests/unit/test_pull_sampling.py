"""Pull sampling: a GET is noted with the largest share any endpoint samples, and each endpoint
takes a noted pull with its share divided by that, so that it gets its share exactly."""

from __future__ import annotations

import random

from dockyard.config import EndpointSettings
from dockyard.registry.events.model import CURRENT_REQUEST, Source
from dockyard.registry.events.recorder import EventLog

GETS = 40_000


def test_each_endpoint_gets_its_share_and_unsampled_gets_keep_nothing() -> None:
    random.seed(7)
    endpoints = [
        EndpointSettings(name="tenth", url="http://a.example/", pullsampling=0.1),
        EndpointSettings(name="twentieth", url="http://b.example/", pullsampling=0.05),
    ]
    events = EventLog(endpoints, Source("node:5000", "instance"))
    scope = {"type": "http", "method": "GET", "headers": [(b"host", b"registry")]}
    token = CURRENT_REQUEST.set(scope)
    try:
        for _ in range(GETS):
            events.pulled(
                "team/app", "sha256:" + "a" * 64, "application/json", 10, "v1", "manifests"
            )
    finally:
        CURRENT_REQUEST.reset(token)
    noted = len(events._notes)
    assert 0.08 * GETS < noted < 0.12 * GETS  # the largest share: one GET in ten kept
    taken = events.take_pulls()
    assert 0.08 * GETS < len(taken["tenth"]) < 0.12 * GETS
    assert 0.035 * GETS < len(taken["twentieth"]) < 0.065 * GETS


def test_with_an_endpoint_taking_every_pull_every_get_is_noted() -> None:
    endpoints = [
        EndpointSettings(name="all", url="http://a.example/"),
        EndpointSettings(name="half", url="http://b.example/", pullsampling=0.5),
    ]
    events = EventLog(endpoints, Source("node:5000", "instance"))
    token = CURRENT_REQUEST.set({"type": "http", "method": "GET", "headers": []})
    try:
        for _ in range(1000):
            events.pulled(
                "team/app", "sha256:" + "b" * 64, "application/json", 10, None, "manifests"
            )
    finally:
        CURRENT_REQUEST.reset(token)
    taken = events.take_pulls()
    assert len(taken["all"]) == 1000
    assert 400 < len(taken["half"]) < 600
