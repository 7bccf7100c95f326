"""Prometheus metrics after a push and pulls through two workers, read with prometheus-client's
own parser: requests by route template, method and status, their latency, bytes, storage and
database calls, uploads in progress, login refusals and the event queue; off the main address
unless asked for."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.images import make_image, push_image
from tests.support.index import ADMIN_PASSWORD, IndexServer, index_server
from tests.support.servers import free_port
from tests.support.waiting import eventually

ADMIN = ("admin", ADMIN_PASSWORD)
REPOSITORY = "admin/measured"
MANIFEST_ROUTE = "/v2/{name:path}/manifests/{reference}"
PULLS = 12


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[IndexServer, str]]:
    debug = f"127.0.0.1:{free_port()}"
    # An endpoint nobody answers: its events wait in the outbox, which the metrics show.
    endpoint = {"name": "away", "url": f"http://127.0.0.1:{free_port()}/events"}
    notifications = {"allow_private_targets": True, "endpoints": [endpoint]}
    env = {
        "DOCKYARD_HTTP__WORKERS": "2",
        "DOCKYARD_HTTP__DEBUG__ADDR": debug,
        "DOCKYARD_NOTIFICATIONS": json.dumps(notifications),
        # A collection every 0.6 s, to be counted.
        "DOCKYARD_REGISTRY__GC__INTERVAL_MINUTES": "0.01",
    }
    with index_server(tmp_path_factory.mktemp("metrics") / "data", env) as index:
        with index.registry(ADMIN, f"repository:{REPOSITORY}:pull,push") as client:
            push_image(client, REPOSITORY, make_image("measured"))
            for _ in range(PULLS):
                pulled = client.get(f"/v2/{REPOSITORY}/manifests/latest")
                assert pulled.status_code == 200
        refused = httpx.get(f"{index.url}/token", auth=("admin", "wrong"), timeout=30)
        assert refused.status_code == 401
        yield index, f"http://{debug}/metrics"


def _samples(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = httpx.get(url, timeout=30).raise_for_status().text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    """The sum of the samples of `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, found), v in samples.items() if n == name and wanted <= found)


def test_requests_are_counted_by_route_template_method_and_status_across_workers(
    measured: tuple[IndexServer, str],
) -> None:
    _, url = measured
    samples = _samples(url)
    route = {"route": MANIFEST_ROUTE}
    assert (
        _value(samples, "dockyard_http_requests_total", **route, method="GET", status="200")
        == PULLS
    )
    assert _value(samples, "dockyard_http_requests_total", **route, method="PUT", status="201") == 1
    latency = _value(samples, "dockyard_http_request_duration_seconds_count", **route, method="GET")
    assert latency == PULLS
    assert _value(samples, "dockyard_http_sent_bytes_total", **route) > 0
    uploads = "/v2/{name:path}/blobs/uploads/"
    assert _value(samples, "dockyard_http_received_bytes_total", route=uploads) > 0
    assert _value(samples, "dockyard_uploads_in_progress") == 0
    # Never a path (one series per repository) as a label.
    assert not [key for key in samples if ("route", f"/v2/{REPOSITORY}/manifests/latest") in key[1]]


def test_storage_database_and_logins_are_measured(measured: tuple[IndexServer, str]) -> None:
    _, url = measured
    samples = _samples(url)
    written = _value(
        samples, "dockyard_storage_operations_total", driver="filesystem", outcome="ok"
    )
    assert written >= 3  # the config and the layer, each written and published
    assert _value(samples, "dockyard_storage_operations_total", outcome="error") == 0
    assert _value(samples, "dockyard_database_query_duration_seconds_count") > PULLS
    assert _value(samples, "dockyard_login_failures_total", reason="credentials") >= 1


def test_the_event_queue_of_an_endpoint_that_does_not_answer_is_shown(
    measured: tuple[IndexServer, str],
) -> None:
    _, url = measured
    waiting = eventually(
        lambda: _value(_samples(url), "dockyard_events_backlog", endpoint="away") or None,
        what="the away endpoint's backlog",
    )
    assert waiting >= 3  # two blobs and a manifest pushed, at least
    assert _value(_samples(url), "dockyard_events_oldest_seconds", endpoint="away") > 0


def test_garbage_collection_runs_are_counted(measured: tuple[IndexServer, str]) -> None:
    _, url = measured
    runs = eventually(
        lambda: _value(_samples(url), "dockyard_gc_runs_total", outcome="ok") or None,
        what="a counted collection",
    )
    assert runs >= 1


def test_metrics_are_not_on_the_main_address_unless_asked_for(
    measured: tuple[IndexServer, str], tmp_path: Path
) -> None:
    index, _ = measured
    assert httpx.get(f"{index.url}/metrics", timeout=30).status_code != 200
    env = {"DOCKYARD_HTTP__DEBUG__METRICS_ON_MAIN": "true"}
    with index_server(tmp_path / "data", env) as public:
        httpx.get(f"{public.url}/v2/", timeout=30)
        samples = _samples(f"{public.url}/metrics")
    assert _value(samples, "dockyard_http_requests_total", route="/v2/") >= 1
