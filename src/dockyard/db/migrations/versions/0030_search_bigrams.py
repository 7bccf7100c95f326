"""Search on PostgreSQL: an index of the two-character strings of the searched text.

A trigram index cannot find a text of two characters (a trigram needs three), so such a search
read the table: its first 1,000 matches when the text is common (5-20 ms for 100,000
repositories), and every row when it is rare (150 ms for `qx`). A GIN index of each row's
two-character strings (`dockyard_bigrams(search_text)`, every pair of neighbouring characters
of 0028's column) finds the rows that hold any pair exactly: `qx` in 0.3 ms, a common pair's
first 1,000 matches in 3-8 ms. Texts of one character still read the table: nearly every row
holds one, so the first 1,000 come after about as many rows.

The function costs tens of microseconds a row, but is left at PostgreSQL's default cost: declared
as costly as it is (COST 10000), it made the planner price every bitmap scan of the index as if
each row were rechecked, and it combined the index with the visibility index instead (a common
pair's first 1,000 matches: 16-22 ms instead of 8).

Building the index computes the function for every row: about 7 s for 100,000 repositories,
during which writes to the table wait. SQLite searches texts of two characters as before
(reading the table: 6 ms for a common pair's first 1,000 matches).

Revision ID: 0030
Revises: 0029
"""

from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

# Each pair of neighbouring characters; repeats are kept (GIN keeps each key once a row).
_FUNCTION = """
CREATE FUNCTION dockyard_bigrams(searched text) RETURNS text[]
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE sql
AS $$ SELECT ARRAY(SELECT substr(searched, i, 2) FROM generate_series(1, length(searched) - 1) i) $$
"""
_INDEX = (
    "CREATE INDEX ix_repository_settings_search_bigrams"
    " ON repository_settings USING gin (dockyard_bigrams(search_text))"
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_FUNCTION)
    op.execute(_INDEX)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX ix_repository_settings_search_bigrams")
    op.execute("DROP FUNCTION dockyard_bigrams(text)")
