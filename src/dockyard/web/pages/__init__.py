"""One module per page family; each lists its `routes` (dockyard.web.setup wires them)."""
