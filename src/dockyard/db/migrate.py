"""Bring a database to the newest schema; run once at start-up, before serving."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

# The index's tables join the shared MetaData on import: the schema is the whole app's.
import dockyard.index.tables  # noqa: F401
from dockyard.config import CannotStart

MIGRATIONS = Path(__file__).parent / "migrations"

# Any constant: the key of the PostgreSQL advisory lock that migrations hold.
_MIGRATION_LOCK = 0x646F636B79617264  # "dockyard"


def head_revision() -> str:
    """The newest migration's revision: each is named after its file's number (`0025` of
    `0025_search_name_starts.py`), and each follows the one numbered before it."""
    files = (MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py")
    return max((path.name[:4] for path in files), default="")  # none: Alembic will say why


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database; CannotStart if it cannot be reached or opened at all (a one-line
    reason for the command to print, where a failing migration keeps its traceback)."""
    _reachable(engine)
    if revision == "head" and _at(engine, head_revision()):
        # Nothing to do: Alembic, its imports and the migrations' modules are not loaded (0.4 to
        # 0.7 s of each command's and restart's start on this 2-CPU machine).
        return
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Several nodes may start at once on a new database: one migrates while the others
            # wait here, then find the schema at head (PostgreSQL runs DDL in the transaction).
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def _reachable(engine: Engine) -> None:
    try:
        with engine.connect():
            pass
    except (OperationalError, InterfaceError) as exc:
        where = engine.url.render_as_string(hide_password=True)
        cause = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else ""
        raise CannotStart(f"database.url: cannot use the database at {where}: {cause}") from None


def _at(engine: Engine, revision: str) -> bool:
    """The database's schema is at `revision` (False for a new database)."""
    try:
        with engine.connect() as connection:
            found = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    except DBAPIError:  # no such table yet: a new database
        return False
    return [row[0] for row in found] == [revision]
