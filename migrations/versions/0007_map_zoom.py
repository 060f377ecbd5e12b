"""Level of detail: the zoom at which each placed work first appears on the map (backend.map_levels; NULL for a
work placed since the last fit, until it is given one), and its tile key (a Morton code, so the works of any tile
are one key range), indexed so that a tile's works at zoom z are z + 1 short range scans.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("map_positions", sa.Column("zoom", sa.SmallInteger(), nullable=True))
    op.add_column("map_positions", sa.Column("tile_key", sa.BigInteger(), nullable=True))
    op.execute("CREATE INDEX map_positions_tiles ON map_positions (projection_id, zoom, tile_key)")


def downgrade() -> None:
    op.drop_index("map_positions_tiles", table_name="map_positions")
    op.drop_column("map_positions", "tile_key")
    op.drop_column("map_positions", "zoom")
