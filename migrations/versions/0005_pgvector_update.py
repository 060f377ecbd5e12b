"""pgvector 0.8: a database made with an older extension (pgserver 0.1.4 shipped 0.6) gets the new version's
SQL objects, so iterative index scans and halfvec are there.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER EXTENSION vector UPDATE")


def downgrade() -> None:
    """An extension is not taken back to an older version: its newer objects stay."""
