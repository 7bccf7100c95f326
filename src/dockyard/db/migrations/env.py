"""Alembic environment: runs on the connection that dockyard.db.migrate hands over."""

from alembic import context

import dockyard.index.tables  # noqa: F401  (registers the index's tables on the metadata)
from dockyard.db.tables import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
