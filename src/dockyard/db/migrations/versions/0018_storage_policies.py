"""Storage policies (docs/operations.md#quotas-retention-and-immutable-tags): quotas per
namespace (bytes and repositories; NULL: the configuration's default), patterns of immutable
tags per namespace or repository, retention policies per namespace or repository, and when
each tag was last pulled (for retention's "pulled within D days").

A rule's `repository` is the full repository name, or '' for the whole namespace.

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "namespace_quotas",
        sa.Column("namespace", sa.String(255), primary_key=True),
        sa.Column("max_bytes", sa.BigInteger),
        sa.Column("max_repositories", sa.Integer),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "immutable_tags",
        sa.Column("namespace", sa.String(255), primary_key=True),
        sa.Column("repository", sa.String(255), primary_key=True),
        sa.Column("pattern", sa.String(128), primary_key=True),
    )
    op.create_table(
        "retention_policies",
        sa.Column("namespace", sa.String(255), primary_key=True),
        sa.Column("repository", sa.String(255), primary_key=True),
        sa.Column("keep_last", sa.Integer),
        sa.Column("keep_days", sa.Float),
        sa.Column("match", sa.String(128), nullable=False),
        sa.Column("protect", sa.Text, nullable=False),  # a JSON list of patterns
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("tags") as batch:
        batch.add_column(sa.Column("last_pulled_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("tags") as batch:
        batch.drop_column("last_pulled_at")
    op.drop_table("retention_policies")
    op.drop_table("immutable_tags")
    op.drop_table("namespace_quotas")
