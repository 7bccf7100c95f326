"""Search on PostgreSQL: a repository's searched text, lowercase, in one stored column.

`search_text` is the name, the description and the full description, lowercased and joined by
a line feed, which the database computes on every write. One trigram index of it (and one of
it without separators, as 0009's) replaces the six of 0006, 0009 and 0014 over the
descriptions: a text is looked up in one index instead of three, and each candidate is
rechecked without lower(), which cost about 1.5 microseconds a column and a row, the most of
reading a common word's 1,000 matches (3 -> 1.5 microseconds a row; docs/decisions/
0016-search-speed.md). The indexes of names alone stay: search ranks names through them.
SQLite finds texts through FTS5 (0014, 0027): nothing to do there.

Adding a stored column rewrites the table: a few seconds per 100,000 repositories, during
which the table is locked.

Revision ID: 0028
Revises: 0027
"""

from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

# As dockyard.index.search.statements: SEGMENTS joins the columns, SEPARATORS are taken out of
# the squeezed index. The query must name the same expressions, letter for letter.
_COLUMN = (
    "ALTER TABLE repository_settings ADD COLUMN search_text text GENERATED ALWAYS AS"
    " (lower(name) || E'\\n' || lower(description) || E'\\n' || lower(full_description)) STORED"
)
_INDEXES = {
    "ix_repository_settings_search_text_trgm": "search_text",
    "ix_repository_settings_search_text_squeezed_trgm": "translate(search_text, '-_./', '')",
}
# 0006's, 0009's and 0014's indexes over the descriptions, and what they index.
_REPLACED = {
    "ix_repository_settings_description_trgm": "lower(description)",
    "ix_repository_settings_full_description_trgm": "lower(full_description)",
    "ix_repository_settings_description_squeezed_trgm": "translate(lower(description), '-_./', '')",
    "ix_repository_settings_full_description_squeezed_trgm": (
        "translate(lower(full_description), '-_./', '')"
    ),
}


def _create(indexes: dict[str, str]) -> None:
    for index, expression in indexes.items():
        op.execute(
            f"CREATE INDEX {index} ON repository_settings USING gin ({expression} gin_trgm_ops)"
        )


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_COLUMN)
    _create(_INDEXES)
    for index in _REPLACED:
        op.execute(f"DROP INDEX {index}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _create(_REPLACED)
    for index in _INDEXES:
        op.execute(f"DROP INDEX {index}")
    op.execute("ALTER TABLE repository_settings DROP COLUMN search_text")
