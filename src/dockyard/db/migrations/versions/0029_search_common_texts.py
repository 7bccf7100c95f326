"""Search: the common texts every process has learned, shared through the database.

Each process remembered the texts it found common (dockyard.index.search.common) for itself:
with a worker per CPU, and several nodes, each counted every common text once more, and a
restart forgot them all. A text is kept with the search generation it was found common at
(0026); it is good while the generation stays.

Revision ID: 0029
Revises: 0028
"""

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "search_common_texts",
        sa.Column("text", sa.String(255), primary_key=True),
        sa.Column("bound", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("generation", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("search_common_texts")
