"""One space of names for users and organisations, kept by a primary key: two sign-ups (or a
sign-up and an organisation) taking the same name at once cannot both succeed.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "namespaces",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
    )
    # Names were kept apart by a check before each insert; should a race have beaten it and
    # left a user and an organisation of one name, the user holds it here.
    op.execute("INSERT INTO namespaces (name, kind) SELECT username, 'user' FROM users")
    op.execute(
        "INSERT INTO namespaces (name, kind) SELECT name, 'organisation' FROM organisations"
        " WHERE name NOT IN (SELECT username FROM users)"
    )


def downgrade() -> None:
    op.drop_table("namespaces")
