"""Events are dropped by age (`notifications.endpoints[].maxage`): an index on when each was
recorded, so that finding the old ones reads only them, however long the outbox grows.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_events_created_at", "events", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_events_created_at", table_name="events")
