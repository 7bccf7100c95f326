"""Upload sessions record the storage objects (pieces) that hold their bytes.

A session in progress during the upgrade keeps its bytes: on the filesystem they are one file,
`uploads/<id>/data`, which becomes its only piece. On S3 they were chunk objects under
`uploads/<id>/data.chunks/`, which no piece names: such a session answers BLOB_UPLOAD_UNKNOWN
at its next request and the client starts the upload again.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "upload_pieces",
        sa.Column("upload_id", sa.String(36), sa.ForeignKey("uploads.id"), primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("storage_key", sa.String(512), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
    )
    op.execute(
        "INSERT INTO upload_pieces (upload_id, position, storage_key, size) "
        "SELECT id, 0, 'uploads/' || id || '/data', size FROM uploads WHERE size > 0"
    )


def downgrade() -> None:
    op.drop_table("upload_pieces")
