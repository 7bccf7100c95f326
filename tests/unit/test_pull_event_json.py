"""A pull event is written by a fast path of its own (registry/events/pulls.pyx, in C, from what
the GET noted): it must say exactly what the general writer says of the same request, whatever
the request's text holds (quotes, percent signs, non-ASCII), and differ from pull to pull where
it should."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from dockyard.config import EndpointSettings
from dockyard.registry.events.model import (
    BLOB_MEDIA_TYPE,
    CURRENT_REQUEST,
    GRANT_KEY,
    PULL,
    REQUEST_ID_KEY,
    EventWriter,
    Origin,
    Source,
    Target,
)
from dockyard.registry.events.recorder import EventLog

SOURCE = Source('node "1":5000', "instance-%s")
DIGEST = "sha256:" + "c" * 64
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def scope(request_id: str, useragent: bytes, subject: str | None, port: int) -> dict[str, Any]:
    return {
        "type": "http",
        "method": "GET",
        "scheme": "https",
        "client": ("10.0.0.7", port),
        "headers": [(b"host", b"registry.example:5000"), (b"user-agent", useragent)],
        REQUEST_ID_KEY: request_id,
        GRANT_KEY: SimpleNamespace(subject=subject) if subject is not None else None,
    }


@contextmanager
def serving(request: dict[str, Any]) -> Iterator[None]:
    """While the block runs, `request` is the request being served (as RegistryMiddleware sets)."""
    token = CURRENT_REQUEST.set(request)
    try:
        yield
    finally:
        CURRENT_REQUEST.reset(token)


def pulled(scopes: list[dict[str, Any]], tag: str | None, blob: bool = False) -> list[Any]:
    events = EventLog([EndpointSettings(name="all", url="http://a.example/")], SOURCE)
    for request in scopes:
        with serving(request):
            if blob:
                events.pulled("team/app", DIGEST, BLOB_MEDIA_TYPE, 1234, None, "blobs")
            else:
                events.pulled("team/app", DIGEST, MANIFEST, 987, tag, "manifests")
    return [json.loads(body) for body in events.take_pulls()["all"]]


def general(request: dict[str, Any], target: Target) -> Any:
    moment = datetime(2026, 12, 3, 12, 0, 0, 500000, tzinfo=UTC)
    event = EventWriter(SOURCE).event(PULL, target, Origin.of(request), moment)
    return json.loads(event.body)


@pytest.mark.parametrize(
    ("useragent", "subject"),
    [
        (b"docker/27.0 go/1.22", "alice"),
        (b'odd "agent" 100% \\ \xe9t\xe9', 'bob "the %s builder"'),
        (b"", None),
    ],
)
def test_a_pull_event_says_what_the_general_writer_says(useragent: bytes, subject: str) -> None:
    request = scope("a" * 32, useragent, subject, 40001)
    target = Target("team/app", DIGEST, MANIFEST, 987, "v1", kind="manifests")
    (fast,) = pulled([request], "v1")
    slow = general(request, target)
    assert UUID4.match(fast["id"]) and TIMESTAMP.match(fast["timestamp"])
    for event in (fast, slow):
        del event["id"], event["timestamp"]
    assert fast == slow


@pytest.mark.parametrize(
    ("request_id", "client"),
    [
        ('id "quoted"', ("10.0.0.7", 40001)),  # each escaped as JSON must, alone
        ("back\\slash", ("10.0.0.7", 40001)),
        ("control\x01", ("10.0.0.7", 40001)),
        ("\u00e9t\u00e9", ("10.0.0.7", 40001)),
        ("c" * 32, ('host "\u00e9" \\', 65535)),
        ("c" * 32, ("back\\slash", 1)),
        ("d" * 32, ("10.0.0.7", 70000)),  # no TCP port: written as the general writer writes it
        ("d" * 32, ("10.0.0.7", 2**70)),
        ("e" * 32, ("10.0.0.7", -1)),
        ("f" * 32, ["10.0.0.7", 40001]),  # a list, not a tuple
        ("g" * 32, ("10.0.0.7", "40001")),
        ("h" * 32, None),  # no client: no address
        ("i" * 32, ("::1", 0)),
    ],
)
def test_the_request_id_and_address_are_written_as_the_general_writer_writes_them(
    request_id: str, client: Any
) -> None:
    """The two texts written per pull (the others are written once per target and client, by
    the general writer's code)."""
    request = {**scope(request_id, b"docker/27.0", "alice", 0), "client": client}
    target = Target("team/app", DIGEST, MANIFEST, 987, "v1", kind="manifests")
    (fast,) = pulled([request], "v1")
    slow = general(request, target)
    for event in (fast, slow):
        del event["id"], event["timestamp"]
    assert fast == slow


def test_nothing_is_noted_outside_a_get() -> None:
    events = EventLog([EndpointSettings(name="all", url="http://a.example/")], SOURCE)
    events.pulled("team/app", DIGEST, MANIFEST, 987, "v1", "manifests")  # no request
    for request in [{**scope("a" * 32, b"curl", None, 1), "method": "HEAD"}, "not a scope"]:
        token = CURRENT_REQUEST.set(request)  # type: ignore[arg-type]
        try:
            events.pulled("team/app", DIGEST, MANIFEST, 987, "v1", "manifests")
        finally:
            CURRENT_REQUEST.reset(token)
    assert events.take_pulls() == {}


def test_pulls_beyond_the_buffer_are_dropped_and_counted(caplog: pytest.LogCaptureFixture) -> None:
    """A database that is away must not make the process grow without bound."""
    events = EventLog([EndpointSettings(name="all", url="http://a.example/")], SOURCE)
    events._notes.limit = 10
    with serving(scope("a" * 32, b"docker/27.0", None, 40000)):
        for _ in range(15):
            events.pulled("team/app", DIGEST, MANIFEST, 987, "v1", "manifests")
    with caplog.at_level(logging.WARNING, "dockyard.events"):
        asyncio.run(events.flush_pulls())  # no database here: the pulls go nowhere
    assert "5 pull events were dropped" in caplog.text
    with serving(scope("a" * 32, b"docker/27.0", None, 40000)):
        events.pulled("team/app", DIGEST, MANIFEST, 987, "v1", "manifests")
    assert len(events.take_pulls()["all"]) == 1  # room again after the round


def test_a_blob_pull_names_the_blob_and_no_tag() -> None:
    request = scope("b" * 32, b"podman/5", "carol", 40002)
    (fast,) = pulled([request], None, blob=True)
    slow = general(request, Target("team/app", DIGEST, BLOB_MEDIA_TYPE, 1234, kind="blobs"))
    assert "tag" not in fast["target"]
    for event in (fast, slow):
        del event["id"], event["timestamp"]
    assert fast == slow


def test_pulls_of_one_target_differ_in_their_id_request_and_address() -> None:
    requests = [scope(f"{n:032x}", b"docker/27.0", "alice", 41000 + n) for n in range(50)]
    events = pulled(requests, "v1")
    assert len({event["id"] for event in events}) == 50
    assert [event["request"]["id"] for event in events] == [f"{n:032x}" for n in range(50)]
    assert [event["request"]["addr"] for event in events] == [
        f"10.0.0.7:{41000 + n}" for n in range(50)
    ]


def test_pulls_of_clients_and_tags_taking_turns_each_say_their_own() -> None:
    """A round's pulls look their constant parts up by client and target: pulls that take
    turns between a few of each (a lookup found, one not) get each their own."""
    clients = [(b"docker/27.0", "alice"), (b"podman/5", None), (b"skopeo", "bob")]
    tags = ["v1", "v2", None]
    requests = [scope(f"{n:032x}", *clients[n % 3], 42000 + n) for n in range(30)]
    events = EventLog([EndpointSettings(name="all", url="http://a.example/")], SOURCE)
    for n, request in enumerate(requests):
        with serving(request):
            events.pulled("team/app", DIGEST, MANIFEST, 987, tags[n // 3 % 3], "manifests")
    fast = [json.loads(body) for body in events.take_pulls()["all"]]
    for n, (event, request) in enumerate(zip(fast, requests, strict=True)):
        target = Target("team/app", DIGEST, MANIFEST, 987, tags[n // 3 % 3], kind="manifests")
        slow = general(request, target)
        del event["id"], event["timestamp"], slow["id"], slow["timestamp"]
        assert event == slow


def test_noted_pulls_keep_nothing_the_garbage_collector_traces() -> None:
    """A GET keeps strings and numbers only: an object kept per GET (its headers, its client)
    made collections run every few hundred GETs while pulls waited for their round."""
    events = EventLog([EndpointSettings(name="all", url="http://a.example/")], SOURCE)
    gc.collect()
    before = len(gc.get_objects())
    for n in range(2000):
        with serving(scope(f"{n:032x}", b"docker/27.0", "alice", 40000 + n)):
            events.pulled("team/app", DIGEST, MANIFEST, 987, "v1", "manifests")
    assert len(gc.get_objects()) - before < 100
    assert len(events.take_pulls()["all"]) == 2000


def test_a_pull_event_has_the_time_of_its_get_to_the_microsecond() -> None:
    events = EventLog([EndpointSettings(name="all", url="http://a.example/")], SOURCE)
    windows = []
    for n in range(200):
        with serving(scope(f"{n:032x}", b"docker/27.0", "alice", 40000 + n)):
            before = time.time_ns() // 1000
            events.pulled("team/app", DIGEST, MANIFEST, 987, "v1", "manifests")
            windows.append((before, time.time_ns() // 1000))
    for body, (before, after) in zip(events.take_pulls()["all"], windows, strict=True):
        stamp = datetime.strptime(json.loads(body)["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ")
        moment = stamp.replace(tzinfo=UTC)
        micros = (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
        assert before <= micros <= after


def test_each_endpoint_gets_the_media_types_it_wants_in_the_order_pulled() -> None:
    endpoints = [
        EndpointSettings(name="all", url="http://a.example/"),
        EndpointSettings(
            name="manifests", url="http://b.example/", ignore={"mediatypes": [BLOB_MEDIA_TYPE]}
        ),
    ]
    events = EventLog(endpoints, SOURCE)
    for n in range(6):
        with serving(scope(f"{n:032x}", b"docker/27.0", None, 40000 + n)):
            if n % 2:
                events.pulled("team/app", DIGEST, BLOB_MEDIA_TYPE, 1234, None, "blobs")
            else:
                events.pulled("team/app", DIGEST, MANIFEST, 987, "v1", "manifests")
    taken = {
        name: [json.loads(body) for body in bodies] for name, bodies in events.take_pulls().items()
    }
    assert [e["request"]["id"] for e in taken["all"]] == [f"{n:032x}" for n in range(6)]
    assert [e["request"]["id"] for e in taken["manifests"]] == [f"{n:032x}" for n in (0, 2, 4)]
    assert {e["target"]["mediaType"] for e in taken["manifests"]} == {MANIFEST}
    # One writer for both: an event sent to two endpoints is the same event (its id too).
    assert taken["manifests"] == taken["all"][0::2]
    assert len({e["id"] for e in taken["all"]}) == 6


def test_pulls_only_endpoints_ignore_are_not_written() -> None:
    endpoints = [
        EndpointSettings(
            name="manifests", url="http://b.example/", ignore={"mediatypes": [BLOB_MEDIA_TYPE]}
        )
    ]
    events = EventLog(endpoints, SOURCE)
    for n in range(4):
        with serving(scope(f"{n:032x}", b"docker/27.0", None, 40000 + n)):
            events.pulled("team/app", DIGEST, BLOB_MEDIA_TYPE, 1234, None, "blobs")
            events.pulled("team/app", DIGEST, MANIFEST, 987, "v1", "manifests")
    (bodies,) = events.take_pulls().values()
    assert [json.loads(body)["target"]["mediaType"] for body in bodies] == [MANIFEST] * 4
    assert events.take_pulls() == {}
