"""Search: an index on the last component of each repository name (`nginx` of
`library/nginx`), so that a common text finds the names it equals exactly without reading every
name (docs/decisions/0016-search-speed.md); and indexes on collaborators' users and teams, which
every signed-in search reads to learn what the caller may see (all collaborators were read).

The expression must be the one `dockyard.index.search.statements.last_component` writes, letter
for letter: SQLite and PostgreSQL use an expression index only for a query that names the same
expression.

Revision ID: 0016
Revises: 0015
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

# SQLite has no split function: what is left of the name after trimming every trailing
# character that is not a slash is the namespace and its slash, and the rest is the last part.
_EXPRESSIONS = {
    "sqlite": "substr(name, length(rtrim(name, replace(name, '/', ''))) + 1)",
    "postgresql": "split_part(name, '/', -1)",
}
_INDEX = "ix_repository_settings_last_component"


def upgrade() -> None:
    expression = _EXPRESSIONS[op.get_bind().dialect.name]
    op.execute(f"CREATE INDEX {_INDEX} ON repository_settings (({expression}))")
    op.create_index("ix_collaborators_user", "collaborators", ["user_id"])
    op.create_index("ix_collaborators_team", "collaborators", ["team_id"])


def downgrade() -> None:
    op.drop_index("ix_collaborators_team", table_name="collaborators")
    op.drop_index("ix_collaborators_user", table_name="collaborators")
    op.execute(f"DROP INDEX {_INDEX}")
