"""The catalogue: what registry events tell the index about each repository (pulls, last push,
tags) and each tag (digest, media type, size, platforms, who pushed it and when).

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("repository_settings") as table:
        table.add_column(sa.Column("pull_count", sa.BigInteger, nullable=False, server_default="0"))
        table.add_column(sa.Column("last_pull_at", WHEN))
        table.add_column(sa.Column("last_push_at", WHEN))
        table.add_column(sa.Column("tag_count", sa.Integer, nullable=False, server_default="0"))
    op.create_index("ix_repository_settings_pull_count", "repository_settings", ["pull_count"])
    op.create_index("ix_repository_settings_last_push_at", "repository_settings", ["last_push_at"])
    op.create_table(
        "catalogue_tags",
        sa.Column(
            "repository_id",
            sa.Integer,
            sa.ForeignKey("repository_settings.id"),
            primary_key=True,
        ),
        sa.Column("tag", sa.String(128), primary_key=True),
        sa.Column("digest", sa.String(200), nullable=False),
        sa.Column("media_type", sa.String(255), nullable=False),
        sa.Column("size", sa.BigInteger),
        sa.Column("platforms", sa.Text, nullable=False),
        sa.Column("pushed_at", WHEN, nullable=False),
        sa.Column("pushed_by", sa.String(255)),
    )
    op.create_index("ix_catalogue_tags_digest", "catalogue_tags", ["repository_id", "digest"])


def downgrade() -> None:
    op.drop_index("ix_catalogue_tags_digest", table_name="catalogue_tags")
    op.drop_table("catalogue_tags")
    op.drop_index("ix_repository_settings_last_push_at", table_name="repository_settings")
    op.drop_index("ix_repository_settings_pull_count", table_name="repository_settings")
    with op.batch_alter_table("repository_settings") as table:
        for column in ("tag_count", "last_push_at", "last_pull_at", "pull_count"):
            table.drop_column(column)
