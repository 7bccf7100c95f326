"""A round's pulls go straight to an endpoint without a backlog, cut into envelopes of about
MAX_ENVELOPE_CHARS: every event once, in the order of the pulls, each envelope valid JSON."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from dockyard.config import EndpointSettings, NotificationSettings
from dockyard.db.engine import Database
from dockyard.db.migrate import upgrade
from dockyard.registry.events import delivery
from dockyard.registry.events.delivery import Deliverer
from dockyard.registry.events.pulls import write_envelope
from dockyard.registry.events.recorder import EventLog
from tests.support.receiver import event_receiver
from tests.unit.test_pull_event_json import DIGEST, MANIFEST, SOURCE, scope, serving

LIMIT = 3_000  # characters: a few events to an envelope


def deliver_pulls(url: str, database_path: Path, count: int) -> None:
    """`count` manifest GETs noted, then one delivery round to the endpoint at `url`."""

    async def round_of_pulls() -> None:
        database = Database(f"sqlite:///{database_path}")
        upgrade(database.engine)
        endpoint = EndpointSettings(name="listener", url=url)
        events = EventLog([endpoint], SOURCE, database)
        settings = NotificationSettings(endpoints=[endpoint], allow_private_targets=True)
        deliverer = Deliverer(settings, database, events)
        for number in range(count):
            with serving(scope(f"{number:032x}", b"docker/27.0", None, 41_000 + number)):
                events.pulled("team/app", DIGEST, MANIFEST, 987, "v1", "manifests")
        await deliverer.deliver_all()
        await deliverer.close()

    asyncio.run(round_of_pulls())


@pytest.mark.parametrize("count", [1, 2, 40])
def test_a_rounds_pulls_arrive_once_in_order_in_envelopes_of_about_the_limit(
    count: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(delivery, "MAX_ENVELOPE_CHARS", LIMIT)
    with event_receiver() as receiver:
        deliver_pulls(receiver.url, tmp_path / "events.db", count)
        events = receiver.wait_for_count(count, seconds=10)
        deliveries = list(receiver.accepted)
    assert [event["request"]["id"] for event in events] == [f"{n:032x}" for n in range(count)]
    assert len({event["id"] for event in events}) == count
    sizes = [int(d.headers["Content-Length"]) for d in deliveries]
    # An envelope ends with the event that reaches the limit: all but the last reach it, and
    # none goes past it by more than an event (fewer than 700 characters here).
    assert all(LIMIT <= size < LIMIT + 700 for size in sizes[:-1])
    assert sizes[-1] < LIMIT + 700
    if count == 40:
        assert len(deliveries) > 5


def test_envelopes_are_written_into_the_buffer_they_are_given_while_it_is_large_enough() -> None:
    small = bytearray(8)
    grown, length = write_envelope(['{"a":1}', '{"b":2}'], small)
    assert grown is not small and bytes(grown[:length]) == b'{"events":[{"a":1},{"b":2}]}'
    again, length = write_envelope(['{"c":3}'], grown)  # shorter: written over the last one
    assert again is grown and bytes(again[:length]) == b'{"events":[{"c":3}]}'


def test_an_envelope_of_text_that_is_not_ascii_is_utf8_and_one_of_nothing_is_refused() -> None:
    buffer, length = write_envelope(['{"a":"é"}', "{}"], bytearray(64))
    assert json.loads(bytes(buffer[:length])) == {"events": [{"a": "é"}, {}]}
    with pytest.raises(ValueError):
        write_envelope([], bytearray(64))
