"""Search: a counter of the changes to repository settings that can take a repository out of
a text's public matches (a deletion; a change of name, description or visibility), bumped by
triggers in the transaction of the change. Search remembers which texts are common (match at
least MAX_COUNTED public repositories) at a value of this counter: adding repositories only
adds matches, so a text stays common until the counter moves
(docs/decisions/0016-search-speed.md, dockyard.index.search.common).

Revision ID: 0026
Revises: 0025
"""

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

_BUMP = "UPDATE search_generation SET generation = generation + 1"
_COLUMNS = ("name", "description", "full_description", "visibility")


def _changed(distinct: str) -> str:
    return " OR ".join(f"old.{column} {distinct} new.{column}" for column in _COLUMNS)


_SQLITE = [
    "CREATE TRIGGER search_generation_delete AFTER DELETE ON repository_settings"
    f" BEGIN {_BUMP}; END",
    f"CREATE TRIGGER search_generation_update AFTER UPDATE OF {', '.join(_COLUMNS)}"
    f" ON repository_settings WHEN {_changed('IS NOT')} BEGIN {_BUMP}; END",
]
_POSTGRESQL = [
    "CREATE FUNCTION search_generation_bump() RETURNS trigger LANGUAGE plpgsql"
    f" AS $$ BEGIN {_BUMP}; RETURN NULL; END $$",
    "CREATE TRIGGER search_generation_delete AFTER DELETE OR TRUNCATE ON repository_settings"
    " FOR EACH STATEMENT EXECUTE FUNCTION search_generation_bump()",
    "CREATE TRIGGER search_generation_update AFTER UPDATE ON repository_settings FOR EACH ROW"
    f" WHEN ({_changed('IS DISTINCT FROM')}) EXECUTE FUNCTION search_generation_bump()",
]


def upgrade() -> None:
    op.create_table(
        "search_generation",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("generation", sa.BigInteger, nullable=False),
    )
    op.execute("INSERT INTO search_generation (id, generation) VALUES (1, 0)")
    sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in _SQLITE if sqlite else _POSTGRESQL:
        op.execute(statement)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for trigger in ("search_generation_update", "search_generation_delete"):
        op.execute(f"DROP TRIGGER {trigger}" + ("" if sqlite else " ON repository_settings"))
    if not sqlite:
        op.execute("DROP FUNCTION search_generation_bump()")
    op.drop_table("search_generation")
