"""Search: indexes that find the names a component of which starts with a text, as ranges in
code point order, instead of trigrams, which are in every description (SQLite's FTS5 table)
or do not tell where a component starts (PostgreSQL's pg_trgm): the name (PostgreSQL: in "C"
order, whatever the database's collation), the name after its namespace, the last component of
names of three (of two, it is the one after the namespace), and the names of four components
or more, whose middle components no range reaches, read whole: such names are few
(docs/decisions/0016-search-speed.md).

The expressions and conditions must be those of `dockyard.index.search.statements`
(after_namespace, last_component, THREE_COMPONENTS, FOUR_COMPONENTS), letter for letter.

Revision ID: 0025
Revises: 0024
"""

from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

_SLASHES = "length(name) - length(replace(name, '/', ''))"
_INDEXES = {
    "sqlite": {
        "ix_repository_settings_after_namespace": "(substr(name, instr(name, '/') + 1))",
        "ix_repository_settings_last_of_three": (
            f"(substr(name, length(rtrim(name, replace(name, '/', ''))) + 1)) WHERE {_SLASHES} = 2"
        ),
        "ix_repository_settings_four_components": f"(name) WHERE {_SLASHES} >= 3",
    },
    "postgresql": {
        "ix_repository_settings_name_c": '((name COLLATE "C"))',
        "ix_repository_settings_after_namespace": (
            "((substr(name, strpos(name, '/') + 1) COLLATE \"C\"))"
        ),
        "ix_repository_settings_last_of_three": (
            f"((split_part(name, '/', -1) COLLATE \"C\")) WHERE {_SLASHES} = 2"
        ),
        "ix_repository_settings_four_components": f"(name) WHERE {_SLASHES} >= 3",
    },
}


def upgrade() -> None:
    for index, definition in _INDEXES[op.get_bind().dialect.name].items():
        op.execute(f"CREATE INDEX {index} ON repository_settings {definition}")


def downgrade() -> None:
    for index in _INDEXES[op.get_bind().dialect.name]:
        op.execute(f"DROP INDEX {index}")
