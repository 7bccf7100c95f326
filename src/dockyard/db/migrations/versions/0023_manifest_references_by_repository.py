"""The index of manifest references by the referenced digest also holds the repository: "does a
manifest of this repository reference this digest?" (the collector's unused links, untagged
manifests) is then one exact lookup. On the old index SQLite (without statistics) chose to
read every repository's references to a digest: with 100,000 repositories sharing a base
layer, the collector's first statement ran for over ten minutes.

Revision ID: 0023
Revises: 0022
"""

from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

NAME = "ix_manifest_references_reference"


def upgrade() -> None:
    op.drop_index(NAME, table_name="manifest_references")
    op.create_index(NAME, "manifest_references", ["reference", "repository_id"])


def downgrade() -> None:
    op.drop_index(NAME, table_name="manifest_references")
    op.create_index(NAME, "manifest_references", ["reference"])
