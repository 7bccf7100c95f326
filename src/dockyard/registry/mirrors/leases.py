"""One download of a blob per cluster, not per process: a process claims the digest's lease (a
row of `mirror_fetches`) before it downloads, renews it while the download runs and deletes it
at the end. A process that finds the lease held waits until the blob is stored; it takes the
lease over when it lapsed (its holder died) or went (the download failed)."""

from __future__ import annotations

import enum
from datetime import UTC, datetime

from sqlalchemy import Connection, delete, select, update

from dockyard.db.tables import blobs, mirror_fetches
from dockyard.db.upserts import conflict_insert

# How long a lease holds without being renewed: a killed process's lease lapses after this.
LEASE_SECONDS = 30.0
RENEW_SECONDS = 10.0
# How often a process waiting for another's download looks whether the blob is stored.
POLL_SECONDS = 0.2


class Claim(enum.Enum):
    CLAIMED = "claimed"  # this process downloads it
    STORED = "stored"  # the blob is here: serve it from storage
    HELD = "held"  # another process downloads it


def claim(
    connection: Connection, digest: str, owner: str, moment: datetime, until: datetime
) -> Claim:
    """Take the lease of `digest` for `owner` until `until`, unless a lease that has not lapsed
    at `moment` is held (by another process, or by this one: it shares its own download), or
    the blob is stored already."""
    c = mirror_fetches.c
    # RETURNING says whether the row went in (psycopg's rowcount does not, for DO NOTHING).
    inserted = connection.execute(
        conflict_insert(connection, mirror_fetches)
        .values(digest=digest, owner=owner, until=until)
        .on_conflict_do_nothing()
        .returning(c.digest)
    ).first()
    if inserted is None:
        taken = connection.execute(
            update(mirror_fetches)
            .where(c.digest == digest, c.until < moment)
            .values(owner=owner, until=until)
        )
        if taken.rowcount == 0:
            return Claim.HELD
    # Checked after the claim: a download that ended stored its blob before it let the lease
    # go, so a claim won after that sees the blob here (and gives the lease back).
    if _stored(connection, digest):
        release(connection, digest, owner)
        return Claim.STORED
    return Claim.CLAIMED


def look(connection: Connection, digest: str, moment: datetime) -> Claim:
    """Where the download of `digest` stands, without writing: STORED, HELD by a lease that has
    not lapsed, or CLAIMED meaning free to be claimed."""
    if _stored(connection, digest):
        return Claim.STORED
    c = mirror_fetches.c
    until = connection.execute(select(c.until).where(c.digest == digest)).scalar_one_or_none()
    return Claim.HELD if until is not None and _aware(until) >= moment else Claim.CLAIMED


def renew(connection: Connection, digest: str, owner: str, until: datetime) -> bool:
    """Hold the lease longer; False when it is no longer `owner`'s (it lapsed and was taken)."""
    c = mirror_fetches.c
    result = connection.execute(
        update(mirror_fetches).where(c.digest == digest, c.owner == owner).values(until=until)
    )
    return result.rowcount > 0


def release(connection: Connection, digest: str, owner: str) -> None:
    c = mirror_fetches.c
    connection.execute(delete(mirror_fetches).where(c.digest == digest, c.owner == owner))


def _stored(connection: Connection, digest: str) -> bool:
    found = connection.execute(
        select(blobs.c.digest).where(blobs.c.digest == digest, blobs.c.deleting_since.is_(None))
    ).first()
    return found is not None


def _aware(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes (stored in UTC)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
