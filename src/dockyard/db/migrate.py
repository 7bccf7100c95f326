"""Bring a database to the newest schema; run once at start-up, before serving."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

# The index's tables join the shared MetaData on import: the schema is the whole app's.
import dockyard.index.tables  # noqa: F401

MIGRATIONS = Path(__file__).parent / "migrations"

# Any constant: the key of the PostgreSQL advisory lock that migrations hold.
_MIGRATION_LOCK = 0x646F636B79617264  # "dockyard"


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Several nodes may start at once on a new database: one migrates while the others
            # wait here, then find the schema at head (PostgreSQL runs DDL in the transaction).
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
