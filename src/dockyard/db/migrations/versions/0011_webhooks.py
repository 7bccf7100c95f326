"""Webhooks: per repository and per organisation, their deliveries and every attempt.

Revision ID: 0011
Revises: 0010
"""

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # the tables come with the webhooks (dockyard.index.webhooks)


def downgrade() -> None:
    pass
