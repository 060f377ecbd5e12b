"""Nearest-neighbour search: one walk of the HNSW index with the filters checked as it goes (pgvector 0.8's
iterative index scans), and exact search when a filter is so selective that the walk ends short.

Vectors are unit length, so the inner product ranks like cosine: score = -(embedding <#> query).
"""

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import numpy as np
import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from backend.models import EMBEDDING_DIM, HNSW_KEY

MAX_EF_SEARCH = 1000  # pgvector's upper bound for hnsw.ef_search

# The k nearest live artworks that pass the filters, then their map positions. The index is walked in distance
# order and each candidate is checked against artworks on the way (a nested loop); with hnsw.iterative_scan the
# walk goes on past ef_search candidates until k have passed, so a filter matching 1% still fills k from the
# index, with no over-fetch to guess. relaxed_order lets the walk hand back candidates slightly out of order: the
# outer ORDER BY puts them right, ties by id, so that identical vectors (a copy re-encoded) rank the same way
# whatever the limit, and a stack keeps its leader when more rows are fetched.
# Only the filters a search uses are written into its statement: a "$1 IS NULL OR …" predicate would leave the
# planner guessing their selectivity, and the generic plan it keeps for repeated searches is then a full scan.
# The query is a vector parameter or a stored artwork's vector (a subquery the planner runs once, first); when that
# artwork has no vector, the IS NOT NULL guard ends the scan before it starts (a NULL would make HNSW read it all).
# A hit with no position (embedded since the last fit) comes back with NULL x, y, projection_id.
# k is a literal, not a parameter: with the LIMIT known, Postgres settles on one generic plan per statement (still
# the HNSW walk) instead of planning every search.
# The walk orders by the half-precision key the index holds (backend.models.HNSW_KEY); the distance handed back,
# and so the score and the final order, is the float32 one.
# The exact statement orders by the float32 distance "+ 0", which no index can serve: every match is scored.
_KNN_SQL = """
WITH nearest AS MATERIALIZED (
    SELECT e.artwork_id, e.embedding <#> {query} AS distance
    FROM embeddings e
    JOIN artworks a ON a.id = e.artwork_id
    WHERE {predicates}
    ORDER BY {order}
    LIMIT {k}
)
SELECT a.id, a.source, a.source_id, a.title, a.maker, a.date_display AS date, a.institution, a.object_number,
       a.image_url, a.thumbnail_url, a.page_url,
       m.x, m.y, m.projection_id, -n.distance AS score
FROM nearest n
JOIN artworks a ON a.id = n.artwork_id
LEFT JOIN map_positions m ON m.artwork_id = n.artwork_id
ORDER BY n.distance, n.artwork_id
"""
QUERIES = {
    "vector": "%(query)s::vector",
    "artwork": """(
    SELECT e.embedding FROM embeddings e JOIN artworks a ON a.id = e.artwork_id
    WHERE a.id = %(exclude_id)s AND NOT a.deleted
)""",
}
PREDICATES = {
    "exclude_id": "a.id <> %(exclude_id)s",
    "museum": "a.source = %(museum)s",
    "type": "lower(a.object_type) = lower(%(type)s)",
    "date_from": "coalesce(a.year_end, a.year_start) >= %(date_from)s",
    "date_to": "coalesce(a.year_start, a.year_end) <= %(date_to)s",
}
SEARCH_SETTINGS = "SET LOCAL hnsw.ef_search = {}; SET LOCAL hnsw.iterative_scan = relaxed_order"


@lru_cache(maxsize=256)
def knn_statement(query: Literal["vector", "artwork"], used: frozenset[str], k: int, exact: bool) -> str:
    """The kNN statement for a query kind, the parameters this search uses (of PREDICATES), k and the path."""
    vector = QUERIES[query]
    predicates = [f"{vector} IS NOT NULL", "NOT a.deleted", *(PREDICATES[name] for name in PREDICATES if name in used)]
    order = f"(e.embedding <#> {vector}) + 0" if exact else f"e.{HNSW_KEY} <#> ({vector})::halfvec({EMBEDDING_DIM})"
    return _KNN_SQL.format(query=vector, predicates="\n      AND ".join(predicates), order=order, k=int(k))


@dataclass(frozen=True)
class Filters:
    """What a search may be narrowed to; None means no constraint."""

    museum: str | None = None
    type: str | None = None
    date_from: int | None = None
    date_to: int | None = None
    min_score: float | None = None


def nearest_artworks(
    conn: psycopg.Connection,
    query: np.ndarray,
    k: int,
    ef_search: int,
    filters: Filters = Filters(),
    exclude_id: int | None = None,
) -> list[dict[str, Any]]:
    """The k live artworks nearest to a unit vector, best first; exact when the index walk falls short."""
    return _nearest(conn, "vector", {"query": query, "exclude_id": exclude_id}, k, ef_search, filters)


def artworks_like(
    conn: psycopg.Connection, artwork_id: int, k: int, ef_search: int, filters: Filters = Filters()
) -> list[dict[str, Any]] | None:
    """The k live artworks nearest to a stored one that pass the filters, itself excluded, in one statement; None
    when it has no vector."""
    rows = _nearest(conn, "artwork", {"exclude_id": artwork_id}, k, ef_search, filters)
    if not rows and embedding_of(conn, artwork_id) is None:  # no hits: no such vector, or none other passes
        return None
    return rows


def _nearest(
    conn: psycopg.Connection,
    query: Literal["vector", "artwork"],
    params: dict[str, Any],
    k: int,
    ef_search: int,
    filters: Filters,
) -> list[dict[str, Any]]:
    """The index walk, then the exact scan when fewer than k passed the filters: too few match for the walk to meet
    them (it stops after hnsw.max_scan_tuples), and so few are cheap to score exactly. min_score cuts the hits
    afterwards, so a strict threshold never sends a search down the exact path."""
    params = {**vars(filters), **params}
    used = frozenset(name for name, value in params.items() if value is not None and name in PREDICATES)
    with conn.transaction(), conn.cursor(row_factory=dict_row) as cursor:
        cursor.execute(sql.SQL(SEARCH_SETTINGS).format(min(max(ef_search, 1), MAX_EF_SEARCH)))
        rows = cursor.execute(knn_statement(query, used, k, exact=False), params).fetchall()
        if len(rows) < k:
            rows = cursor.execute(knn_statement(query, used, k, exact=True), params).fetchall()
    if filters.min_score is None:
        return rows
    return [row for row in rows if row["score"] >= filters.min_score]


LIVE_EMBEDDINGS = """
SELECT e.artwork_id, e.embedding FROM embeddings e JOIN artworks a ON a.id = e.artwork_id
WHERE a.id = ANY(%s) AND NOT a.deleted
"""


def embedding_of(conn: psycopg.Connection, artwork_id: int) -> np.ndarray | None:
    """A live artwork's stored vector, or None when it is unknown, deleted or not embedded yet."""
    return live_embeddings(conn, [artwork_id]).get(artwork_id)


def live_embeddings(conn: psycopg.Connection, artwork_ids: list[int]) -> dict[int, np.ndarray]:
    """The stored vectors of those of these artworks that are live and embedded, by id, in one statement."""
    rows = conn.execute(LIVE_EMBEDDINGS, (artwork_ids,), binary=True)
    return {artwork_id: embedding.to_numpy() for artwork_id, embedding in rows}


def vectors_of(conn: psycopg.Connection, artwork_ids: list[int]) -> dict[int, np.ndarray]:
    """Stored vectors by artwork id (for hits that are not on the current map version yet)."""
    rows = conn.execute(
        "SELECT artwork_id, embedding FROM embeddings WHERE artwork_id = ANY(%s)", (artwork_ids,), binary=True
    ).fetchall()
    return {artwork_id: vector.to_numpy() for artwork_id, vector in rows}
