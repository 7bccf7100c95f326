"""Replication: copies of repositories to and from other registries
(docs/operations.md#replication)."""
