"""Read-only artwork lookups for the API: one artwork with its metadata, and the collection's counts."""

from typing import Any

import psycopg
from psycopg.rows import dict_row

ARTWORK_SQL = """
SELECT a.id, a.source, a.source_id, a.title, a.maker, a.date_display AS date, a.year_start, a.year_end,
       a.object_type, a.description, a.license, a.institution, a.object_number,
       a.image_url, a.thumbnail_url, a.full_image_url, a.page_url,
       a.raw, a.embed_status, m.x, m.y, m.projection_id, e.model
FROM artworks a
LEFT JOIN embeddings e ON e.artwork_id = a.id
LEFT JOIN map_positions m ON m.artwork_id = e.artwork_id
WHERE a.id = %s AND NOT a.deleted
"""


def artwork_by_id(conn: psycopg.Connection, artwork_id: int) -> dict[str, Any] | None:
    """A live artwork with all its metadata and its map position, or None."""
    with conn.cursor(row_factory=dict_row) as cursor:
        return cursor.execute(ARTWORK_SQL, (artwork_id,)).fetchone()


def collection_counts(conn: psycopg.Connection) -> tuple[int, int]:
    """(live artworks, live artworks with a vector) for the health check."""
    row = conn.execute(
        """
        SELECT count(*), count(e.artwork_id)
        FROM artworks a LEFT JOIN embeddings e ON e.artwork_id = a.id
        WHERE NOT a.deleted
        """
    ).fetchone()
    return row[0], row[1]
