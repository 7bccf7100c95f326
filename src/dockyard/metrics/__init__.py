"""Prometheus metrics: what the process counts (families.py), how each part is measured
(http.py, database.py, storage.py) and where the numbers are served (exposition.py).

Off unless configured (`http.debug.addr` or `http.debug.metrics_on_main`): then, and only then,
`prometheus_client` is imported and the hot paths measure. Several worker processes write
their numbers to files in one directory (the library's multiprocess mode), which the supervisor
creates before the workers start and reads when scraped, so the sums are right whatever worker
answered.
"""
