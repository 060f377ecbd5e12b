"""Credits: the museum that holds each work (institution) and its own inventory number (object_number), so every
view can credit them. Rows already crawled from a museum get its name, and their number where the stored source
record names it (the field each adapter reads); folder rows stay NULL until recrawled (metadata.csv may name both).

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# source → (institution, the raw record's object-number field): frozen here, as the adapters named them at 0009.
CREDITS = {
    "rijksmuseum": ("Rijksmuseum", "object_number"),
    "aic": ("Art Institute of Chicago", "main_reference_number"),
    "met": ("The Metropolitan Museum of Art", "accessionNumber"),
    "cleveland": ("Cleveland Museum of Art", "accession_number"),
}
BACKFILL_SQL = """
UPDATE artworks SET
    institution = :institution,
    object_number = CASE WHEN jsonb_typeof(raw -> :field) = 'string' THEN nullif(btrim(raw ->> :field), '') END
WHERE source = :source
"""


def upgrade() -> None:
    op.add_column("artworks", sa.Column("institution", sa.Text(), nullable=True))
    op.add_column("artworks", sa.Column("object_number", sa.Text(), nullable=True))
    for source, (institution, field) in CREDITS.items():
        op.execute(sa.text(BACKFILL_SQL).bindparams(source=source, institution=institution, field=field))


def downgrade() -> None:
    op.drop_column("artworks", "object_number")
    op.drop_column("artworks", "institution")
