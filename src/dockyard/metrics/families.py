"""Every metric Dockyard exports, declared once. Import only once metrics are on (see
`dockyard.metrics.exposition.prepare`): the library picks its multiprocess storage at import.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# Seconds: from a cached manifest (well under a millisecond) to a large blob (minutes).
_LATENCY = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

requests = Counter(
    "dockyard_http_requests_total",
    "HTTP requests answered, by route template, method and status",
    ["route", "method", "status"],
)
request_seconds = Histogram(
    "dockyard_http_request_duration_seconds",
    "Time from a request's start to the end of its answer",
    ["route", "method"],
    buckets=_LATENCY,
)
received_bytes = Counter("dockyard_http_received_bytes_total", "Request body bytes read", ["route"])
sent_bytes = Counter("dockyard_http_sent_bytes_total", "Response body bytes sent", ["route"])
uploads_in_progress = Gauge(
    "dockyard_uploads_in_progress",
    "Blob upload requests (POST, PATCH, PUT of an upload) being served",
    multiprocess_mode="livesum",
)

storage_operations = Counter(
    "dockyard_storage_operations_total",
    "Storage driver calls, by driver, operation and outcome (ok or error)",
    ["driver", "operation", "outcome"],
)
storage_seconds = Histogram(
    "dockyard_storage_operation_duration_seconds",
    "Time of a storage driver call (a read or listing: until its last item)",
    ["driver", "operation"],
    buckets=_LATENCY,
)

database_connections_in_use = Gauge(
    "dockyard_database_connections_in_use",
    "Connections checked out of the database pools",
    multiprocess_mode="livesum",
)
database_query_seconds = Histogram(
    "dockyard_database_query_duration_seconds",
    "Time of one SQL statement at the driver",
    buckets=_LATENCY,
)

cache_lookups = Counter(
    "dockyard_cache_lookups_total",
    "Metadata cache lookups (Redis), by result: hit, miss or error",
    ["result"],
)

logins = Counter(
    "dockyard_login_failures_total",
    "Sign-ins refused, by reason: wrong credentials or throttled",
    ["reason"],
)

gc_runs = Counter("dockyard_gc_runs_total", "Garbage collection runs, by outcome", ["outcome"])
gc_reclaimed_bytes = Counter(
    "dockyard_gc_reclaimed_bytes_total", "Bytes of storage freed by garbage collection"
)
