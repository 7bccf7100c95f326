"""Search speed: PostgreSQL trigram indexes over names and descriptions with their separators
(`-_./`) taken out, so a text spanning them (`nginx-proxy`) is looked up by the trigrams that
cross the separator, not only by those of each (common) word. 0006's indexes stay for texts
without a separator (reading `translate` back costs more per row than `lower`). SQLite's FTS5
trigram index keeps separators already: nothing to do there. docs/decisions/0016-search-speed.md.

Revision ID: 0009
Revises: 0008
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# As dockyard.index.search.statements.SEPARATORS: the query must name the same expression.
_SQUEEZED = "translate(lower({column}), '-_./', '')"
_INDEXES = {
    "ix_repository_settings_name_squeezed_trgm": "name",
    "ix_repository_settings_description_squeezed_trgm": "description",
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for index, column in _INDEXES.items():
        expression = _SQUEEZED.format(column=column)
        op.execute(
            f"CREATE INDEX {index} ON repository_settings USING gin ({expression} gin_trgm_ops)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for index in _INDEXES:
        op.execute(f"DROP INDEX {index}")
