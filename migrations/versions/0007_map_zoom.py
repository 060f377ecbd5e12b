"""Level of detail: the zoom at which each placed work first appears on the map (backend.map_levels); NULL for a
work placed since the last fit, until it is given one.

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


def downgrade() -> None:
    op.drop_column("map_positions", "zoom")
