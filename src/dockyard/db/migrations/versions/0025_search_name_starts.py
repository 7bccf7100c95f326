"""Search on SQLite: indexes that find the names a component of which starts with a text, as
ranges instead of a phrase of the FTS5 trigram table (whose trigrams are in every
description): the name after its namespace; the last component of names of three (0016's
expression, only for those names: of two, it is the one after the namespace); and the names of
four components or more, whose middle components no range reaches, read whole: such names are
few (docs/decisions/0016-search-speed.md).

The expressions and conditions must be those of `dockyard.index.search.repository`
(AFTER_NAMESPACE, last_component, THREE_COMPONENTS, FOUR_COMPONENTS), letter for letter.

Revision ID: 0025
Revises: 0024
"""

from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

_INDEXES = {
    "ix_repository_settings_after_namespace": "(substr(name, instr(name, '/') + 1))",
    "ix_repository_settings_last_of_three": (
        "(substr(name, length(rtrim(name, replace(name, '/', ''))) + 1)) WHERE name GLOB '*/*/*'"
    ),
    "ix_repository_settings_four_components": "(name) WHERE name GLOB '*/*/*/*'",
}


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for index, definition in _INDEXES.items():
            op.execute(f"CREATE INDEX {index} ON repository_settings {definition}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for index in _INDEXES:
            op.execute(f"DROP INDEX {index}")
