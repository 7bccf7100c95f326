"""Search over the repositories the index knows: `GET /v1/search` and `GET /api/search`."""
