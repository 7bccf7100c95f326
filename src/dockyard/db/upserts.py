"""INSERT ... ON CONFLICT, which SQLite and PostgreSQL both speak: SQLAlchemy's generic INSERT
has no ON CONFLICT, each dialect's own has."""

from __future__ import annotations

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite


def conflict_insert(connection: Connection, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT into `table` for `connection`'s database, with `on_conflict_do_nothing` and
    `on_conflict_do_update`."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
