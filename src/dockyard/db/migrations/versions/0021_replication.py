"""Replication: its runs (a durable queue, leased while a copy runs, kept with each copy's
outcome and bytes) and each pull rule's next comparison (dockyard.registry.replication).

Revision ID: 0021
Revises: 0020
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "replication_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("rule", sa.String(64), nullable=False),
        sa.Column("cause", sa.String(400), nullable=False),
        sa.Column("repository", sa.String(255), nullable=False),
        sa.Column("tag", sa.String(128), nullable=False),
        sa.Column("digest", sa.String(100)),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", WHEN, nullable=False),
        sa.Column("lease_owner", sa.String(64)),
        sa.Column("lease_until", WHEN),
        sa.Column("bytes", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("blobs_sent", sa.Integer, nullable=False, server_default="0"),
        sa.Column("blobs_skipped", sa.Integer, nullable=False, server_default="0"),
        sa.Column("error", sa.Text),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("finished_at", WHEN),
        sa.UniqueConstraint("rule", "cause", name="uq_replication_runs_cause"),
    )
    op.create_index("ix_replication_runs_due", "replication_runs", ["state", "next_attempt_at"])
    op.create_index("ix_replication_runs_rule", "replication_runs", ["rule", "id"])
    op.create_table(
        "replication_schedules",
        sa.Column("rule", sa.String(64), primary_key=True),
        sa.Column("next_at", WHEN, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("replication_schedules")
    op.drop_index("ix_replication_runs_rule", table_name="replication_runs")
    op.drop_index("ix_replication_runs_due", table_name="replication_runs")
    op.drop_table("replication_runs")
