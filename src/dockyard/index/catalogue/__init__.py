"""The catalogue: the index's view of what registries hold (repositories with their pulls and
last push, tags with their digest, size and platforms), written only from registry events:
in-process from this registry's outbox, or from other registries' notifications POSTed to
/api/events; `dockyard index rebuild` writes it afresh from the registry's metadata."""
