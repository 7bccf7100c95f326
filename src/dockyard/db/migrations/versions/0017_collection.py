"""Online garbage collection (docs/decisions/0020-online-garbage-collection.md): what each
manifest references (its blobs and child manifests), so that the collector finds unreferenced
blobs by query; on each blob link the moment the collector first found no manifest of its
repository using it; on each blob the moment the collector first found it unreferenced and the
moment a collector claimed it for deletion; on each upload session the digest it is
publishing (a pin the collector respects); a lease so that scheduled collections run on one
node at a time. Manifests already stored get their references from their bodies.

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

from dockyard.oci.manifest import InvalidManifest, parse_manifest

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

DIGEST = sa.String(200)


def upgrade() -> None:
    references = op.create_table(
        "manifest_references",
        sa.Column("repository_id", sa.Integer, sa.ForeignKey("repositories.id"), primary_key=True),
        sa.Column("digest", DIGEST, primary_key=True),
        sa.Column("reference", DIGEST, primary_key=True),
        sa.Column("kind", sa.String(8), nullable=False),
    )
    op.create_index("ix_manifest_references_reference", "manifest_references", ["reference"])
    op.create_index("ix_repository_blobs_digest", "repository_blobs", ["digest"])
    with op.batch_alter_table("repository_blobs") as batch:
        batch.add_column(sa.Column("unreferenced_since", sa.DateTime(timezone=True)))
    with op.batch_alter_table("blobs") as batch:
        batch.add_column(sa.Column("unreferenced_since", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("deleting_since", sa.DateTime(timezone=True)))
    with op.batch_alter_table("uploads") as batch:
        batch.add_column(sa.Column("digest", DIGEST))
    op.create_index("ix_uploads_digest", "uploads", ["digest"])
    op.create_table(
        "maintenance_leases",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(64)),
        sa.Column("until", sa.DateTime(timezone=True)),
        sa.Column("last_finished_at", sa.DateTime(timezone=True)),
    )
    _backfill(references)


def _backfill(references: sa.Table) -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.text("SELECT repository_id, digest, media_type, body FROM manifests")
    )
    batch: list[dict[str, object]] = []
    for repository_id, digest, media_type, body in rows:
        try:
            manifest = parse_manifest(bytes(body), media_type)
        except InvalidManifest:
            continue  # stored by an older rule: it references nothing the collector must keep
        batch += [
            {"repository_id": repository_id, "digest": digest, "reference": str(d), "kind": kind}
            for kind, found in (("blob", manifest.blobs), ("manifest", manifest.children))
            for d in found
        ]
    if batch:
        op.bulk_insert(references, batch)


def downgrade() -> None:
    op.drop_table("maintenance_leases")
    op.drop_index("ix_uploads_digest", "uploads")
    with op.batch_alter_table("uploads") as batch:
        batch.drop_column("digest")
    with op.batch_alter_table("blobs") as batch:
        batch.drop_column("deleting_since")
        batch.drop_column("unreferenced_since")
    with op.batch_alter_table("repository_blobs") as batch:
        batch.drop_column("unreferenced_since")
    op.drop_index("ix_repository_blobs_digest", "repository_blobs")
    op.drop_index("ix_manifest_references_reference", "manifest_references")
    op.drop_table("manifest_references")
