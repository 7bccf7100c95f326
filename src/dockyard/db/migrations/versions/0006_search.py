"""Search: indexes over repository settings' names and descriptions, and for listing them.

SQLite: an FTS5 table with the trigram tokenizer over `repository_settings` (external content,
kept in step by triggers), so a substring of three characters or more is found without reading
every row. PostgreSQL: pg_trgm's GIN indexes on lower(name) and lower(description), which
`LIKE '%text%'` uses. docs/decisions/0014-search.md.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_SQLITE = [
    "CREATE VIRTUAL TABLE repository_search USING fts5(name, description,"
    " content='repository_settings', content_rowid='id', tokenize='trigram')",
    "INSERT INTO repository_search(repository_search) VALUES ('rebuild')",
    "CREATE TRIGGER repository_search_insert AFTER INSERT ON repository_settings BEGIN"
    " INSERT INTO repository_search(rowid, name, description)"
    " VALUES (new.id, new.name, new.description); END",
    "CREATE TRIGGER repository_search_delete AFTER DELETE ON repository_settings BEGIN"
    " INSERT INTO repository_search(repository_search, rowid, name, description)"
    " VALUES ('delete', old.id, old.name, old.description); END",
    "CREATE TRIGGER repository_search_update AFTER UPDATE OF name, description"
    " ON repository_settings BEGIN"
    " INSERT INTO repository_search(repository_search, rowid, name, description)"
    " VALUES ('delete', old.id, old.name, old.description);"
    " INSERT INTO repository_search(rowid, name, description)"
    " VALUES (new.id, new.name, new.description); END",
]
_POSTGRESQL = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX ix_repository_settings_name_trgm ON repository_settings"
    " USING gin (lower(name) gin_trgm_ops)",
    "CREATE INDEX ix_repository_settings_description_trgm ON repository_settings"
    " USING gin (lower(description) gin_trgm_ops)",
]


def upgrade() -> None:
    op.create_index(
        "ix_repository_settings_visibility_name", "repository_settings", ["visibility", "name"]
    )
    op.create_index(
        "ix_repository_settings_namespace_name", "repository_settings", ["namespace", "name"]
    )
    op.create_index("ix_repository_settings_created_at", "repository_settings", ["created_at"])
    sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in _SQLITE if sqlite else _POSTGRESQL:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER repository_search_{trigger}")
        op.execute("DROP TABLE repository_search")
    else:
        op.execute("DROP INDEX ix_repository_settings_description_trgm")
        op.execute("DROP INDEX ix_repository_settings_name_trgm")
    op.drop_index("ix_repository_settings_created_at", "repository_settings")
    op.drop_index("ix_repository_settings_namespace_name", "repository_settings")
    op.drop_index("ix_repository_settings_visibility_name", "repository_settings")
