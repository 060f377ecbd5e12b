"""Failure details: a failure's reason is its class (what `artsearch status` counts); the detail (the decoder's
message, the URL refused, the exception text) is kept beside it, per artwork and per crawl failure.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE artworks ADD COLUMN embed_error_detail text")
    op.execute("ALTER TABLE crawl_failures ADD COLUMN detail text")


def downgrade() -> None:
    op.execute("ALTER TABLE crawl_failures DROP COLUMN IF EXISTS detail")
    op.execute("ALTER TABLE artworks DROP COLUMN IF EXISTS embed_error_detail")
