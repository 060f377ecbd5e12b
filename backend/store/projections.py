"""Projection data access: sample the vectors to fit, store a version, write every artwork's (x, y)."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import psycopg
from pgvector import Vector
from psycopg.types.json import Jsonb

from backend.map_levels import tile_key

STREAM_BATCH = 10_000


def sample_embeddings(conn: psycopg.Connection, limit: int) -> tuple[np.ndarray, np.ndarray]:
    """Up to `limit` random (artwork_id, vector) pairs of live artworks: what a map is fitted on."""
    rows = conn.execute(
        """
        SELECT e.artwork_id, e.embedding
        FROM embeddings e JOIN artworks a ON a.id = e.artwork_id
        WHERE NOT a.deleted
        ORDER BY random()
        LIMIT %s
        """,
        (limit,),
        binary=True,
    ).fetchall()
    return _as_arrays(rows)


def iter_embeddings(conn: psycopg.Connection, batch: int = STREAM_BATCH) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Every stored vector, in batches of (artwork_ids, vectors), through a server-side cursor."""
    with conn.cursor(name="all_embeddings", binary=True) as cursor:
        cursor.itersize = batch
        cursor.execute("SELECT artwork_id, embedding FROM embeddings")
        while rows := cursor.fetchmany(batch):
            yield _as_arrays(rows)


def insert_projection(conn: psycopg.Connection, method: str, model: str, n_fitted: int, params: dict[str, Any]) -> int:
    """A new projection version; its id is what map_positions.projection_id points at."""
    row = conn.execute(
        "INSERT INTO projections (method, model, n_fitted, params) VALUES (%s, %s, %s, %s) RETURNING id",
        (method, model, n_fitted, Jsonb(params)),
    ).fetchone()
    return row[0]


def write_coordinates(
    conn: psycopg.Connection, projection_id: int, ids: np.ndarray, xy: np.ndarray, zooms: np.ndarray | None = None
) -> int:
    """Upsert the (x, y) and first zoom of these artworks on this version in one statement: COPY into a temp table,
    then INSERT … ON CONFLICT into map_positions. Artworks whose vector is gone meanwhile are skipped.

    Only the small map_positions rows change: the embeddings rows, and so the HNSW index, are not touched.
    """
    conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS placed "
        "(artwork_id bigint PRIMARY KEY, x real, y real, zoom smallint, tile_key bigint) ON COMMIT DELETE ROWS"
    )
    levels = zooms.tolist() if zooms is not None else [None] * len(ids)
    keys = tile_key(xy).tolist()
    conn.execute("TRUNCATE placed")
    with conn.cursor() as cursor:
        with cursor.copy("COPY placed (artwork_id, x, y, zoom, tile_key) FROM STDIN") as copy:
            for artwork_id, (x, y), zoom, key in zip(ids.tolist(), xy.tolist(), levels, keys, strict=True):
                copy.write_row((artwork_id, x, y, zoom, key))
        cursor.execute(
            """
            INSERT INTO map_positions (artwork_id, projection_id, x, y, zoom, tile_key)
            SELECT p.artwork_id, %s, p.x, p.y, p.zoom, p.tile_key
            FROM placed p JOIN embeddings e ON e.artwork_id = p.artwork_id
            ON CONFLICT (artwork_id) DO UPDATE
            SET projection_id = EXCLUDED.projection_id, x = EXCLUDED.x, y = EXCLUDED.y, zoom = EXCLUDED.zoom,
                tile_key = EXCLUDED.tile_key
            """,
            (projection_id,),
        )
        return cursor.rowcount


def unplaced_embeddings(
    conn: psycopg.Connection, projection_id: int, limit: int = STREAM_BATCH
) -> tuple[np.ndarray, np.ndarray]:
    """Vectors not yet on this map version (written by the pipeline while the map was being fitted)."""
    rows = conn.execute(
        """
        SELECT e.artwork_id, e.embedding
        FROM embeddings e LEFT JOIN map_positions m ON m.artwork_id = e.artwork_id
        WHERE m.projection_id IS DISTINCT FROM %s
        LIMIT %s
        """,
        (projection_id, limit),
        binary=True,
    ).fetchall()
    return _as_arrays(rows)


FACETS = """
SELECT a.id, a.object_type, a.maker, a.year_start
FROM artworks a JOIN embeddings e ON e.artwork_id = a.id
ORDER BY a.id
"""


def facets_of(conn: psycopg.Connection, ids: np.ndarray) -> tuple[list[str | None], list[str | None], list[int | None]]:
    """Object type, maker and first year of these artworks (ids sorted), for the map's region labels."""
    rows = conn.execute(FACETS).fetchall()
    found = np.array([row[0] for row in rows], dtype=np.int64)
    at = np.minimum(np.searchsorted(found, ids), max(len(found) - 1, 0))
    pick = [rows[i] if len(rows) and found[i] == artwork_id else (artwork_id, None, None, None)
            for i, artwork_id in zip(at.tolist(), ids.tolist(), strict=True)]  # fmt: skip
    return [row[1] for row in pick], [row[2] for row in pick], [row[3] for row in pick]


def set_regions(conn: psycopg.Connection, projection_id: int, regions: list[dict[str, Any]]) -> None:
    """The version's region labels, stored with it."""
    conn.execute("UPDATE projections SET regions = %s WHERE id = %s", (Jsonb(regions), projection_id))


@dataclass(frozen=True)
class StoredProjection:
    """A projection version as stored: what it was fitted on, and the parameters that place new vectors."""

    id: int
    method: str
    model: str
    n_fitted: int
    params: dict[str, Any]
    created_at: datetime


# The current map is the newest version: the highest id (a primary-key walk, cheap enough for every request).
CURRENT_PROJECTION = """
SELECT id, method, model, n_fitted, params, created_at FROM projections ORDER BY id DESC LIMIT 1
"""
CURRENT_PROJECTION_ID = "SELECT id FROM projections ORDER BY id DESC LIMIT 1"
MOST_COMMON_MODEL = "SELECT model FROM embeddings GROUP BY model ORDER BY count(*) DESC LIMIT 1"
EMBEDDING_COUNT = "SELECT count(*) FROM embeddings"


def current_projection(conn: psycopg.Connection) -> StoredProjection | None:
    """The current map version, or None before the first fit."""
    row = conn.execute(CURRENT_PROJECTION).fetchone()
    return StoredProjection(*row) if row else None


def current_projection_id(conn: psycopg.Connection) -> int | None:
    """The current version's id alone: whether a loaded map is still current, without reading its parameters."""
    row = conn.execute(CURRENT_PROJECTION_ID).fetchone()
    return row[0] if row else None


def most_common_model(conn: psycopg.Connection) -> str:
    """The model most vectors were made with: the one a new map is fitted for."""
    return conn.execute(MOST_COMMON_MODEL).fetchone()[0]


def embedding_count(conn: psycopg.Connection) -> int:
    """How many vectors are stored."""
    return conn.execute(EMBEDDING_COUNT).fetchone()[0]


def _as_arrays(rows: list[tuple[int, Vector]]) -> tuple[np.ndarray, np.ndarray]:
    """(artwork_id, pgvector Vector) rows → (ids (N,), float32 vectors (N, dim))."""
    ids = np.array([row[0] for row in rows], dtype=np.int64)
    vectors = np.array([row[1].to_numpy() for row in rows], dtype=np.float32)
    return ids, vectors
