"""The webhooks' tables, on the registry's MetaData (migration 0011 creates them)."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from dockyard.db.tables import metadata
from dockyard.index.tables import WHEN

# A hook of one repository or of one organisation (then for all of its repositories). Its
# secret is kept as it is, not hashed: every delivery is signed with it.
webhooks = Table(
    "webhooks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # A repository forgotten by the catalogue takes its hooks with it.
    Column("repository_id", Integer, ForeignKey("repository_settings.id", ondelete="CASCADE")),
    Column("organisation_id", Integer, ForeignKey("organisations.id", ondelete="CASCADE")),
    Column("name", String(64), nullable=False),
    Column("url", Text, nullable=False),
    Column("secret", String(128), nullable=False),
    Column("events", String(64), nullable=False),  # comma-separated: push, delete
    Column("active", Boolean, nullable=False),
    # Why Dockyard switched the hook off (its deliveries kept failing); None when it did not.
    Column("disabled_reason", Text),
    Column("failures_in_a_row", Integer, nullable=False, server_default="0"),
    Column("created_at", WHEN, nullable=False),
    CheckConstraint(
        "(repository_id IS NULL) <> (organisation_id IS NULL)", name="ck_webhooks_one_owner"
    ),
    Index("ix_webhooks_repository", "repository_id"),
    Index("ix_webhooks_organisation", "organisation_id"),
)

# One event for one hook: the exact body sent, and where its attempts stand. `attempts`
# counts those of the current series (a redelivery starts a new one).
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("hook_id", Integer, ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False),
    Column("event_uuid", String(64), nullable=False),
    Column("event", String(16), nullable=False),  # push | delete
    Column("payload", Text, nullable=False),
    Column("state", String(16), nullable=False),  # pending | delivered | failed
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", WHEN, nullable=False),
    Column("lease_owner", String(64)),
    Column("lease_until", WHEN),
    Column("created_at", WHEN, nullable=False),
    # A batch of events delivered again (at least once) must not queue a second delivery.
    UniqueConstraint("hook_id", "event_uuid", name="uq_webhook_deliveries_event"),
    Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),
    Index("ix_webhook_deliveries_hook", "hook_id", "id"),
)

# Every attempt, kept for the delivery history an administrator reads.
webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "delivery_id",
        Integer,
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("at", WHEN, nullable=False),
    Column("status_code", Integer),  # None: no answer (refused, timed out, ...)
    Column("error", Text),
    Column("duration_ms", Integer, nullable=False),
    Column("response", Text, nullable=False),  # the answer's first KiB, as text
    Index("ix_webhook_attempts_delivery", "delivery_id", "id"),
)
