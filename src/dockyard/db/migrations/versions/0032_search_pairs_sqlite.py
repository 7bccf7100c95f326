"""Search on SQLite: two characters found through indexes when few repositories hold them.

FTS5's trigram table (0014) answers no text shorter than three characters, so a search for two
read every row: 45-55 ms over 100,000 repositories for a pair that few of them hold (a common
pair's first 1,000 matches come soon). A pair is in a column exactly when one of the column's
trigrams starts with it, or the column ends with it. The first are terms of the trigram table,
in order: a range of its vocabulary (an fts5vocab table, which reads the table's own index).
The second are in an index of each column's last two characters, lowercase as FTS5 and LIKE
fold ASCII letters. PostgreSQL has its index of pairs (0030).

Revision ID: 0032
Revises: 0031
"""

from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None

# The expressions are dockyard.index.search.statements.LAST_PAIRS, letter for letter (there
# with the table's name before the column).
_LAST_PAIRS = {
    f"ix_repository_settings_{column}_last_pair": f"lower(substr({column}, -2))"
    for column in ("name", "description", "full_description")
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(
        "CREATE VIRTUAL TABLE repository_search_terms USING fts5vocab(repository_search, row)"
    )
    for index, expression in _LAST_PAIRS.items():
        op.execute(f"CREATE INDEX {index} ON repository_settings ({expression})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for index in _LAST_PAIRS:
        op.execute(f"DROP INDEX {index}")
    op.execute("DROP TABLE repository_search_terms")
