"""Map tiles: a small thumbnail per embedded work (written by the embed stage, read into tile atlases), a map
revision that moves whenever works are placed on a version after its fit (tile URLs name it, so they can be cached
forever), the version's region labels, and an index on (projection_id, tile_key) for a tile's density grid.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "thumbnails",
        sa.Column("artwork_id", sa.BigInteger(), sa.ForeignKey("artworks.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("image", sa.LargeBinary(), nullable=False),
        sa.Column("width", sa.SmallInteger(), nullable=False),
        sa.Column("height", sa.SmallInteger(), nullable=False),
    )
    # A thumbnail is a few KB: kept in the row (not TOAST) so an atlas reads its 128 in one index scan.
    op.execute("ALTER TABLE thumbnails SET (toast_tuple_target = 8160)")
    op.add_column("projections", sa.Column("revision", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("projections", sa.Column("regions", JSONB(), nullable=False, server_default=sa.text("'[]'::jsonb")))
    op.execute("CREATE INDEX map_positions_density ON map_positions (projection_id, tile_key)")


def downgrade() -> None:
    op.drop_index("map_positions_density", table_name="map_positions")
    op.drop_column("projections", "regions")
    op.drop_column("projections", "revision")
    op.drop_table("thumbnails")
