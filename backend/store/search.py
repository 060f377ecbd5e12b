"""Nearest-neighbour search: the HNSW path with over-fetch for filters, and exact search when they are selective.

Vectors are unit length, so the inner product ranks like cosine: score = -(embedding <#> query).
"""

from dataclasses import dataclass
from typing import Any

import numpy as np
import psycopg
from psycopg import sql
from psycopg.rows import dict_row

MAX_EF_SEARCH = 1000  # pgvector's upper bound for hnsw.ef_search
FETCH_SLACK = 10  # unfiltered: room for deleted artworks and the query artwork itself
OVERFETCH = 10  # filtered: candidates per wanted hit taken from the index before filtering

# The nearest candidates by the vector alone, then the artwork filters and the map positions. With ORDER BY …
# LIMIT in the CTE the planner walks the HNSW index; without it every vector is scored, which is exact.
# The query is a vector parameter or a stored artwork's vector (a subquery the planner runs once, first); when that
# artwork has no vector, the IS NOT NULL guard ends the scan before it starts (a NULL would make HNSW read it all).
# A hit with no position (embedded since the last fit) comes back with NULL x, y, projection_id.
# k and the candidate count are literals ({k}, {fetch}), not parameters: with the LIMITs known, Postgres settles on one
# generic plan per statement (still the HNSW walk) instead of planning every search: 1.5 ms less a search, measured.
_KNN_SQL = """
WITH nearest AS MATERIALIZED (
    SELECT artwork_id, embedding <#> {query} AS distance
    FROM embeddings
    WHERE {query} IS NOT NULL
    {candidates}
)
SELECT a.id, a.source, a.source_id, a.title, a.maker, a.date_display AS date,
       a.image_url, a.thumbnail_url, a.page_url,
       m.x, m.y, m.projection_id, -n.distance AS score
FROM nearest n
JOIN artworks a ON a.id = n.artwork_id
LEFT JOIN map_positions m ON m.artwork_id = n.artwork_id
WHERE NOT a.deleted
  AND (%(exclude_id)s::bigint IS NULL OR a.id <> %(exclude_id)s)
  AND (%(museum)s::text IS NULL OR a.source = %(museum)s)
  AND (%(type)s::text IS NULL OR lower(a.object_type) = lower(%(type)s))
  AND (%(date_from)s::int IS NULL OR coalesce(a.year_end, a.year_start) >= %(date_from)s)
  AND (%(date_to)s::int IS NULL OR coalesce(a.year_start, a.year_end) <= %(date_to)s)
  AND (%(min_score)s::float8 IS NULL OR -n.distance >= %(min_score)s)
ORDER BY n.distance
LIMIT {{k}}
"""
_VECTOR = "%(query)s::vector"
_ARTWORK_VECTOR = """(
    SELECT e.embedding FROM embeddings e JOIN artworks a ON a.id = e.artwork_id
    WHERE a.id = %(exclude_id)s AND NOT a.deleted
)"""


def _knn_sql(query: str, exact: bool) -> str:
    candidates = "" if exact else f"ORDER BY embedding <#> {query} LIMIT {{fetch}}"
    return _KNN_SQL.format(query=query, candidates=candidates)


INDEX_KNN_SQL, EXACT_KNN_SQL = _knn_sql(_VECTOR, exact=False), _knn_sql(_VECTOR, exact=True)
INDEX_LIKE_SQL, EXACT_LIKE_SQL = _knn_sql(_ARTWORK_VECTOR, exact=False), _knn_sql(_ARTWORK_VECTOR, exact=True)


def knn_statement(template: str, k: int, fetch: int) -> sql.Composed:
    """One of the kNN templates above with its k hits and `fetch` index candidates written in."""
    return sql.SQL(template).format(k=int(k), fetch=int(fetch))


@dataclass(frozen=True)
class Filters:
    """What a search may be narrowed to; None means no constraint."""

    museum: str | None = None
    type: str | None = None
    date_from: int | None = None
    date_to: int | None = None
    min_score: float | None = None

    @property
    def active(self) -> bool:
        """True when any filter can drop candidates."""
        return any(value is not None for value in vars(self).values())


def nearest_artworks(
    conn: psycopg.Connection,
    query: np.ndarray,
    k: int,
    ef_search: int,
    filters: Filters = Filters(),
    exclude_id: int | None = None,
) -> list[dict[str, Any]]:
    """The k live artworks nearest to a unit vector, best first; exact when the index path falls short."""
    params = {"query": query, "exclude_id": exclude_id}
    return _nearest(conn, (INDEX_KNN_SQL, EXACT_KNN_SQL), params, k, ef_search, filters)


def artworks_like(conn: psycopg.Connection, artwork_id: int, k: int, ef_search: int) -> list[dict[str, Any]] | None:
    """The k live artworks nearest to a stored one, itself excluded, in one statement; None when it has no vector."""
    params = {"exclude_id": artwork_id}
    rows = _nearest(conn, (INDEX_LIKE_SQL, EXACT_LIKE_SQL), params, k, ef_search, Filters())
    if not rows and embedding_of(conn, artwork_id) is None:  # no hits: no such vector, or a collection of one
        return None
    return rows


def _nearest(
    conn: psycopg.Connection,
    statements: tuple[str, str],
    params: dict[str, Any],
    k: int,
    ef_search: int,
    filters: Filters,
) -> list[dict[str, Any]]:
    """The index path, then the exact one when a selective filter (or a small collection) left fewer than k."""
    index_sql, exact_sql = statements
    fetch = min(k * OVERFETCH, MAX_EF_SEARCH) if filters.active else k + FETCH_SLACK
    params = {**vars(filters), **params}
    with conn.transaction(), conn.cursor(row_factory=dict_row) as cursor:
        # ef_search bounds how many candidates HNSW returns, so it must cover the over-fetch.
        cursor.execute(sql.SQL("SET LOCAL hnsw.ef_search = {}").format(min(max(ef_search, fetch), MAX_EF_SEARCH)))
        rows = cursor.execute(knn_statement(index_sql, k, fetch), params).fetchall()
        if len(rows) < k:
            rows = cursor.execute(knn_statement(exact_sql, k, fetch), params).fetchall()
    return rows


def embedding_of(conn: psycopg.Connection, artwork_id: int) -> np.ndarray | None:
    """A live artwork's stored vector, or None when it is unknown, deleted or not embedded yet."""
    row = conn.execute(
        """
        SELECT e.embedding FROM embeddings e JOIN artworks a ON a.id = e.artwork_id
        WHERE a.id = %s AND NOT a.deleted
        """,
        (artwork_id,),
    ).fetchone()
    return row[0].to_numpy() if row else None


def vectors_of(conn: psycopg.Connection, artwork_ids: list[int]) -> dict[int, np.ndarray]:
    """Stored vectors by artwork id (for hits that are not on the current map version yet)."""
    rows = conn.execute(
        "SELECT artwork_id, embedding FROM embeddings WHERE artwork_id = ANY(%s)", (artwork_ids,), binary=True
    ).fetchall()
    return {artwork_id: vector.to_numpy() for artwork_id, vector in rows}
