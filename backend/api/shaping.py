"""A search's rows → its answer's results: near-duplicates folded into stacks (k counts stacks, so the rows are
fetched a few times over), the relevance cut-off applied to the stacks' leaders, every hit placed on the map."""

from collections.abc import Callable
from typing import Any

import numpy as np
import psycopg

from backend.api.current_map import CurrentMap
from backend.api.params import MAX_K, Shape
from backend.api.results import placed_results
from backend.api.schemas import Result
from backend.cutoff import relevance_cutoff
from backend.projection import MapProjection
from backend.stacks import fold_near_duplicates
from backend.store.search import vectors_of

Rows = list[dict[str, Any]]
# Stacked searches fetch this many rows per stack wanted, then twice as many while stacks are missing: a near-
# duplicate group is a few rows, and each fetch is one walk of the index.
OVERFETCH = 3
MAX_FETCH = 4 * MAX_K


def shaped_results(
    conn: psycopg.Connection,
    search: Callable[[int], Rows],
    k: int,
    shape: Shape,
    threshold: float,
    current_map: CurrentMap,
) -> tuple[list[Result], int, MapProjection | None]:
    """The results of search(limit) (rows best first) shaped as asked, how many the cut-off left out, and the map."""
    groups = stacked_rows(conn, search, k, threshold) if shape.stack else [[row] for row in search(k)]
    kept = relevance_cutoff([group[0]["score"] for group in groups]) if shape.cutoff else len(groups)
    hits, projection = placed_results(conn, [row for group in groups[:kept] for row in group], current_map)
    placed = iter(hits)
    results = []
    for group in groups[:kept]:
        leader = next(placed)
        leader.stacked = [next(placed) for _ in group[1:]]
        results.append(leader)
    return results, len(groups) - kept, projection


def stacked_rows(conn: psycopg.Connection, search: Callable[[int], Rows], k: int, threshold: float) -> list[Rows]:
    """Up to k stacks of near-duplicate rows, fetching more rows while fewer stacks formed than the rows allow."""
    limit = min(k * OVERFETCH, MAX_FETCH)
    while True:
        rows = search(limit)
        vectors = vectors_of(conn, [row["id"] for row in rows])
        stacks = fold_near_duplicates(np.stack([vectors[row["id"]] for row in rows]), threshold, k) if rows else []
        if len(stacks) >= k or len(rows) < limit or limit >= MAX_FETCH:
            return [[rows[index] for index in stack] for stack in stacks]
        limit = min(limit * 2, MAX_FETCH)
