"""A search's rows → its answer's results: near-duplicates folded into stacks (k counts stacks, so the rows are
fetched a few times over), the relevance cut-off applied to the stacks' leaders, every hit placed on the map."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import psycopg
from psycopg_pool import ConnectionPool

from backend.api.current_map import CurrentMap
from backend.api.params import MAX_K, Shape
from backend.api.results import placed_results
from backend.api.schemas import Result
from backend.cutoff import relevance_cutoff
from backend.projection import MapProjection
from backend.settings import Settings
from backend.stacks import fold_near_duplicates
from backend.store.search import Filters, nearest_artworks, vectors_of

Rows = list[dict[str, Any]]
# Stacked searches fetch this many rows per stack wanted, then twice as many while stacks are missing: a near-
# duplicate group is a few rows, and each fetch is one walk of the index.
OVERFETCH = 3
MAX_FETCH = 4 * MAX_K


@dataclass(frozen=True)
class Searching:
    """What every search route needs besides its query: the pool, the current map, the settings, and the filters and
    shape the request asked for."""

    pool: ConnectionPool
    current_map: CurrentMap
    settings: Settings
    filters: Filters
    shape: Shape

    def near(
        self, conn: psycopg.Connection, vector: np.ndarray, k: int, leave_out: frozenset[int] = frozenset()
    ) -> tuple[list[Result], int, MapProjection | None]:
        """The shaped answer of the artworks nearest a unit vector that pass the filters, those in leave_out (the
        artworks a query names) not among them."""

        def search(limit: int) -> Rows:
            rows = nearest_artworks(conn, vector, limit + len(leave_out), self.settings.hnsw_ef_search, self.filters)
            return [row for row in rows if row["id"] not in leave_out][:limit]

        return self.shaped(conn, search, k)

    def shaped(
        self, conn: psycopg.Connection, search: Callable[[int], Rows], k: int
    ) -> tuple[list[Result], int, MapProjection | None]:
        """The results of search(limit) (rows best first) shaped as asked, how many the cut-off left out, and the
        map they were placed on."""
        groups = (
            stacked_rows(conn, search, k, self.settings.stack_threshold)
            if self.shape.stack
            else [[row] for row in search(k)]
        )
        kept = relevance_cutoff([group[0]["score"] for group in groups]) if self.shape.cutoff else len(groups)
        hits, projection = placed_results(conn, [row for group in groups[:kept] for row in group], self.current_map)
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
