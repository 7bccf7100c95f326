"""The catalogue's tags of one repository newest first without sorting them all: an index on
(repository_id, pushed_at DESC, tag), the order of the repository page's tags table
(dockyard.index.catalogue.service.tags). With 10,000 tags the page sorted all of them for each
page of 25.

Revision ID: 0020
Revises: 0019
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

_INDEX = "ix_catalogue_tags_newest"


def upgrade() -> None:
    op.create_index(_INDEX, "catalogue_tags", ["repository_id", sa.text("pushed_at DESC"), "tag"])


def downgrade() -> None:
    op.drop_index(_INDEX, table_name="catalogue_tags")
