"""Community: stars (with a count on the repository), comments, and a full description in
Markdown beside the short one.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("repository_settings") as table:
        table.add_column(sa.Column("full_description", sa.Text, nullable=False, server_default=""))
        table.add_column(sa.Column("star_count", sa.Integer, nullable=False, server_default="0"))
    op.create_table(
        "stars",
        sa.Column(
            "repository_id",
            sa.Integer,
            sa.ForeignKey("repository_settings.id"),
            primary_key=True,
        ),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), primary_key=True),
        sa.Column("created_at", WHEN, nullable=False),
    )
    op.create_index("ix_stars_user_id", "stars", ["user_id", "created_at"])
    op.create_table(
        "comments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "repository_id", sa.Integer, sa.ForeignKey("repository_settings.id"), nullable=False
        ),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN),
    )
    op.create_index("ix_comments_repository_created", "comments", ["repository_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_comments_repository_created", table_name="comments")
    op.drop_table("comments")
    op.drop_index("ix_stars_user_id", table_name="stars")
    op.drop_table("stars")
    with op.batch_alter_table("repository_settings") as table:
        table.drop_column("star_count")
        table.drop_column("full_description")
