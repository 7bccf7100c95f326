"""Registry events: the outbox, what each endpoint still has to receive, and each endpoint's state.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)
# A 64-bit key on PostgreSQL; on SQLite only INTEGER PRIMARY KEY is the (64-bit) row id.
EVENT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", EVENT_ID, primary_key=True, autoincrement=True),
        sa.Column("uuid", sa.String(36), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
    )
    op.create_table(
        "event_deliveries",
        sa.Column("endpoint", sa.String(255), primary_key=True),
        sa.Column("event_id", EVENT_ID, sa.ForeignKey("events.id"), primary_key=True),
        sa.Column("attempts", sa.Integer, nullable=False),
    )
    op.create_index("ix_event_deliveries_event_id", "event_deliveries", ["event_id"])
    op.create_table(
        "event_endpoints",
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("lease_owner", sa.String(64)),
        sa.Column("lease_until", WHEN),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", WHEN),
        sa.Column("last_error", sa.Text),
        sa.Column("last_failure_at", WHEN),
        sa.Column("last_success_at", WHEN),
    )


def downgrade() -> None:
    for table in ("event_endpoints", "event_deliveries", "events"):
        op.drop_table(table)
