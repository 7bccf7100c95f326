"""The account lifecycle: an account can be disabled, and a password change (or a disable)
ends the refresh tokens issued before it.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as table:
        table.add_column(sa.Column("disabled_at", sa.DateTime(timezone=True)))
        table.add_column(sa.Column("credentials_changed_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("users") as table:
        table.drop_column("credentials_changed_at")
        table.drop_column("disabled_at")
