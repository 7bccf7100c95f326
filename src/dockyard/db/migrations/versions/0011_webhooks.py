"""Webhooks: per repository and per organisation, their deliveries and every attempt.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "webhooks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "repository_id",
            sa.Integer,
            sa.ForeignKey("repository_settings.id", ondelete="CASCADE"),
        ),
        sa.Column(
            "organisation_id", sa.Integer, sa.ForeignKey("organisations.id", ondelete="CASCADE")
        ),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("secret", sa.String(128), nullable=False),
        sa.Column("events", sa.String(64), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("disabled_reason", sa.Text),
        sa.Column("failures_in_a_row", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", WHEN, nullable=False),
        sa.CheckConstraint(
            "(repository_id IS NULL) <> (organisation_id IS NULL)", name="ck_webhooks_one_owner"
        ),
    )
    op.create_index("ix_webhooks_repository", "webhooks", ["repository_id"])
    op.create_index("ix_webhooks_organisation", "webhooks", ["organisation_id"])
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "hook_id",
            sa.Integer,
            sa.ForeignKey("webhooks.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("event_uuid", sa.String(64), nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", WHEN, nullable=False),
        sa.Column("lease_owner", sa.String(64)),
        sa.Column("lease_until", WHEN),
        sa.Column("created_at", WHEN, nullable=False),
        sa.UniqueConstraint("hook_id", "event_uuid", name="uq_webhook_deliveries_event"),
    )
    op.create_index("ix_webhook_deliveries_due", "webhook_deliveries", ["state", "next_attempt_at"])
    op.create_index("ix_webhook_deliveries_hook", "webhook_deliveries", ["hook_id", "id"])
    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "delivery_id",
            sa.Integer,
            sa.ForeignKey("webhook_deliveries.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("status_code", sa.Integer),
        sa.Column("error", sa.Text),
        sa.Column("duration_ms", sa.Integer, nullable=False),
        sa.Column("response", sa.Text, nullable=False),
    )
    op.create_index("ix_webhook_attempts_delivery", "webhook_attempts", ["delivery_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_webhook_attempts_delivery", table_name="webhook_attempts")
    op.drop_table("webhook_attempts")
    op.drop_index("ix_webhook_deliveries_hook", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_due", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_index("ix_webhooks_organisation", table_name="webhooks")
    op.drop_index("ix_webhooks_repository", table_name="webhooks")
    op.drop_table("webhooks")
