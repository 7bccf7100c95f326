"""Search on SQLite: an FTS5 trigram table of names alone, for the names that hold a text.

0014's table holds names and descriptions, and a column filter (`name : "text"`) still reads
the trigrams' doclists of every column, mostly descriptions': the names holding a common word
took 5-7 ms through it, about half that through a table of names (docs/decisions/
0016-search-speed.md). PostgreSQL's trigram index of names (0006) is one already.

Revision ID: 0027
Revises: 0026
"""

from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

_SQLITE = [
    "CREATE VIRTUAL TABLE repository_search_names USING fts5(name,"
    " content='repository_settings', content_rowid='id', tokenize='trigram')",
    "INSERT INTO repository_search_names(repository_search_names) VALUES ('rebuild')",
    "CREATE TRIGGER repository_search_names_insert AFTER INSERT ON repository_settings BEGIN"
    " INSERT INTO repository_search_names(rowid, name) VALUES (new.id, new.name); END",
    "CREATE TRIGGER repository_search_names_delete AFTER DELETE ON repository_settings BEGIN"
    " INSERT INTO repository_search_names(repository_search_names, rowid, name)"
    " VALUES ('delete', old.id, old.name); END",
    "CREATE TRIGGER repository_search_names_update AFTER UPDATE OF name ON repository_settings"
    " BEGIN INSERT INTO repository_search_names(repository_search_names, rowid, name)"
    " VALUES ('delete', old.id, old.name);"
    " INSERT INTO repository_search_names(rowid, name) VALUES (new.id, new.name); END",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in _SQLITE:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER repository_search_names_{trigger}")
        op.execute("DROP TABLE repository_search_names")
