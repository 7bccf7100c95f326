"""Search over full descriptions too, and by stars.

SQLite: the FTS5 trigram table of 0006 is made again with the full description as a third
column (an external-content table's columns cannot change in place), and its triggers with it.
PostgreSQL: trigram indexes on the full description, as 0006 and 0009 made for the short one.
Both: an index on star_count for the `stars` sort.

Revision ID: 0014
Revises: 0013
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_COLUMNS = ("name", "description", "full_description")


def _sqlite_table(columns: tuple[str, ...]) -> list[str]:
    listed = ", ".join(columns)
    new = ", ".join(f"new.{c}" for c in columns)
    old = ", ".join(f"old.{c}" for c in columns)
    return [
        f"CREATE VIRTUAL TABLE repository_search USING fts5({listed},"
        " content='repository_settings', content_rowid='id', tokenize='trigram')",
        "INSERT INTO repository_search(repository_search) VALUES ('rebuild')",
        "CREATE TRIGGER repository_search_insert AFTER INSERT ON repository_settings BEGIN"
        f" INSERT INTO repository_search(rowid, {listed}) VALUES (new.id, {new}); END",
        "CREATE TRIGGER repository_search_delete AFTER DELETE ON repository_settings BEGIN"
        f" INSERT INTO repository_search(repository_search, rowid, {listed})"
        f" VALUES ('delete', old.id, {old}); END",
        f"CREATE TRIGGER repository_search_update AFTER UPDATE OF {listed}"
        " ON repository_settings BEGIN"
        f" INSERT INTO repository_search(repository_search, rowid, {listed})"
        f" VALUES ('delete', old.id, {old});"
        f" INSERT INTO repository_search(rowid, {listed}) VALUES (new.id, {new}); END",
    ]


def _sqlite_drop() -> None:
    for trigger in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER repository_search_{trigger}")
    op.execute("DROP TABLE repository_search")


_POSTGRESQL = [
    "CREATE INDEX ix_repository_settings_full_description_trgm ON repository_settings"
    " USING gin (lower(full_description) gin_trgm_ops)",
    # As 0009's: the text without its separators (dockyard.index.search.statements.SEPARATORS).
    "CREATE INDEX ix_repository_settings_full_description_squeezed_trgm ON repository_settings"
    " USING gin (translate(lower(full_description), '-_./', '') gin_trgm_ops)",
]


def upgrade() -> None:
    op.create_index("ix_repository_settings_star_count", "repository_settings", ["star_count"])
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_drop()
        for statement in _sqlite_table(_COLUMNS):
            op.execute(statement)
    else:
        for statement in _POSTGRESQL:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_drop()
        for statement in _sqlite_table(_COLUMNS[:2]):
            op.execute(statement)
    else:
        op.execute("DROP INDEX ix_repository_settings_full_description_squeezed_trgm")
        op.execute("DROP INDEX ix_repository_settings_full_description_trgm")
    op.drop_index("ix_repository_settings_star_count", table_name="repository_settings")
