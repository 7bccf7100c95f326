"""The index's tables, on the registry's MetaData: one schema, one chain of Alembic revisions.

Changing them means a new revision in dockyard/db/migrations/versions/.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from dockyard.db.tables import metadata

NAME = String(64)
WHEN = DateTime(timezone=True)


def as_utc(moment: datetime) -> datetime:
    """A time read back from a WHEN column: SQLite's come without their zone (they are UTC)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# Every name a user or an organisation holds, once: they share one space of namespaces, and
# this primary key keeps it so when two creations race (a check before the insert cannot).
namespaces = Table(
    "namespaces",
    metadata,
    Column("name", NAME, primary_key=True),
    Column("kind", String(16), nullable=False),  # user | organisation
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", NAME, nullable=False, unique=True),
    Column("email", String(255), nullable=False),
    Column("password_hash", String(255), nullable=False),  # argon2id, PHC string
    Column("is_admin", Boolean, nullable=False),
    Column("created_at", WHEN, nullable=False),
    # Set while a site administrator has disabled the account: it cannot sign in anywhere.
    Column("disabled_at", WHEN),
    # Moved forward by a password change or reset, a disable: refresh tokens issued before
    # it stop working at once.
    Column("credentials_changed_at", WHEN),
)

organisations = Table(
    "organisations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", NAME, nullable=False, unique=True),
    Column("created_at", WHEN, nullable=False),
)

organisation_members = Table(
    "organisation_members",
    metadata,
    Column("organisation_id", Integer, ForeignKey("organisations.id"), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), primary_key=True),
    Column("role", String(16), nullable=False),  # owner | member
)

teams = Table(
    "teams",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("organisation_id", Integer, ForeignKey("organisations.id"), nullable=False),
    Column("name", NAME, nullable=False),
    UniqueConstraint("organisation_id", "name", name="uq_teams_organisation_name"),
)

team_members = Table(
    "team_members",
    metadata,
    Column("team_id", Integer, ForeignKey("teams.id"), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), primary_key=True),
)

# A repository as the index knows it; `name` is canonical (`ubuntu` is `library/ubuntu`).
# The settings are the administrators'; the activity columns are the catalogue's, written
# only from registry events (dockyard.index.catalogue).
repository_settings = Table(
    "repository_settings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("namespace", NAME, nullable=False),
    Column("visibility", String(16), nullable=False),  # public | private
    Column("description", Text, nullable=False),  # the short one: one line, ≤ 100 characters
    Column("full_description", Text, nullable=False, server_default=""),  # Markdown
    Column("created_at", WHEN, nullable=False),
    Column("star_count", Integer, nullable=False, server_default="0"),
    Column("pull_count", BigInteger, nullable=False, server_default="0"),
    Column("last_pull_at", WHEN),
    Column("last_push_at", WHEN),
    Column("tag_count", Integer, nullable=False, server_default="0"),
)
# Search (dockyard.index.search) lists what a caller may pull in name order: these let it walk
# the public ones, a namespace's, or the newest, without reading the whole table. The text
# indexes over name and description are in migration 0006 (FTS5 on SQLite, pg_trgm on
# PostgreSQL), which no Table can declare.
Index(
    "ix_repository_settings_visibility_name",
    repository_settings.c.visibility,
    repository_settings.c.name,
)
Index(
    "ix_repository_settings_namespace_name",
    repository_settings.c.namespace,
    repository_settings.c.name,
)
Index("ix_repository_settings_created_at", repository_settings.c.created_at)
Index("ix_repository_settings_pull_count", repository_settings.c.pull_count)
Index("ix_repository_settings_star_count", repository_settings.c.star_count)
Index("ix_repository_settings_last_push_at", repository_settings.c.last_push_at)

# One row: how many times a change may have taken a repository out of a text's public matches
# (a deletion; a new name, description or visibility), bumped by migration 0026's triggers.
# Search remembers common texts until it moves (dockyard.index.search.common).
search_generation = Table(
    "search_generation",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("generation", BigInteger, nullable=False),
)

# Texts found common (matching at least `bound` public repositories) at a search generation,
# learned by any process and read by all (dockyard.index.search.common, migration 0029).
search_common_texts = Table(
    "search_common_texts",
    metadata,
    Column("text", String(255), primary_key=True),
    Column("bound", Integer, primary_key=True, autoincrement=False),
    Column("generation", BigInteger, nullable=False),
)

# The catalogue's tags: what each tag of a repository points at, as registry events told it.
catalogue_tags = Table(
    "catalogue_tags",
    metadata,
    Column("repository_id", Integer, ForeignKey("repository_settings.id"), primary_key=True),
    Column("tag", String(128), primary_key=True),
    Column("digest", String(200), nullable=False),
    Column("media_type", String(255), nullable=False),
    # Config and layers; for an index, its platforms' together (a blob shared counted once).
    # None: the manifest could not be read when the event came.
    Column("size", BigInteger),
    # JSON: [{"os", "architecture", "variant"?, "digest", "size"}] (one for an image).
    Column("platforms", Text, nullable=False),
    Column("pushed_at", WHEN, nullable=False),
    Column("pushed_by", String(255)),
    Index("ix_catalogue_tags_digest", "repository_id", "digest"),
)
# A repository's page lists its tags newest first: this walks them in that order (ties by name,
# as the page sorts them), so a page reads its 25 entries and those it skips, never sorts them
# all (migration 0020). By name, the primary key does the same.
Index(
    "ix_catalogue_tags_newest",
    catalogue_tags.c.repository_id,
    catalogue_tags.c.pushed_at.desc(),
    catalogue_tags.c.tag,
)

# A user or a team (exactly one of the two) with a role on one repository.
collaborators = Table(
    "collaborators",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("repository_id", Integer, ForeignKey("repository_settings.id"), nullable=False),
    Column("user_id", Integer, ForeignKey("users.id")),
    Column("team_id", Integer, ForeignKey("teams.id")),
    Column("role", String(16), nullable=False),  # read | write | admin
    UniqueConstraint("repository_id", "user_id", name="uq_collaborators_user"),
    UniqueConstraint("repository_id", "team_id", name="uq_collaborators_team"),
    # What a user reads through (every signed-in search and listing asks): migration 0016.
    Index("ix_collaborators_user", "user_id"),
    Index("ix_collaborators_team", "team_id"),
)

# Personal access tokens and robot accounts: a secret standing in for its owner's password,
# capped by `scopes`. Only the SHA-256 of the (high-entropy) secret is kept.
access_tokens = Table(
    "access_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("name", NAME, nullable=False),
    Column("kind", String(16), nullable=False),  # personal | robot
    Column("secret_hash", String(64), nullable=False, unique=True),
    Column("scopes", String(64), nullable=False),  # comma-separated: read, write, delete
    Column("expires_at", WHEN),
    Column("revoked_at", WHEN),
    Column("created_at", WHEN, nullable=False),
    UniqueConstraint("user_id", "name", name="uq_access_tokens_name"),
)

# Who starred which repository; the repository's star_count follows these rows.
stars = Table(
    "stars",
    metadata,
    Column("repository_id", Integer, ForeignKey("repository_settings.id"), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), primary_key=True),
    Column("created_at", WHEN, nullable=False),
    Index("ix_stars_user_id", "user_id", "created_at"),
)

# Comments on a repository: plain text, never rendered as HTML by the server.
comments = Table(
    "comments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("repository_id", Integer, ForeignKey("repository_settings.id"), nullable=False),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", WHEN, nullable=False),
    Column("updated_at", WHEN),
    Index("ix_comments_repository_created", "repository_id", "created_at"),
)

# The web UI's sessions (dockyard.index.sessions): the cookie carries a random id, signed; only
# its SHA-256 is kept, with the CSRF token of the session's forms. A sign-out, a password change,
# a disable or the account's deletion removes the rows; expired ones are refused and swept.
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", WHEN, nullable=False),
    Column("expires_at", WHEN, nullable=False),
    Index("ix_web_sessions_user_id", "user_id"),
    Index("ix_web_sessions_expires_at", "expires_at"),
)
