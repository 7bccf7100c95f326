"""A version of each repository's list of tag names, changed in the transaction that adds or
removes a tag: a process keeps the encoded answer of /v2/<name>/tags/list and sends it again
while the version stays (dockyard.registry.tag_lists).

Revision ID: 0024
Revises: 0023
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("repositories") as batch:
        batch.add_column(
            sa.Column("tags_version", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("repositories") as batch:
        batch.drop_column("tags_version")
