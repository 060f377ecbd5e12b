"""The collection's state per source, for `artsearch status` and the operators' scripts."""

from datetime import datetime
from typing import Any

import psycopg

COUNTS_SQL = """
SELECT source,
       count(*) AS artworks,
       count(*) FILTER (WHERE embed_status = 'embedded') AS embedded,
       count(*) FILTER (WHERE embed_status IN ('pending', 'claimed')) AS pending,
       count(*) FILTER (WHERE embed_status = 'failed') AS failed
FROM artworks
WHERE NOT deleted
GROUP BY source
"""

FAILURES_SQL = """
SELECT source, coalesce(embed_error, 'unknown') AS reason, count(*)
FROM artworks
WHERE embed_status = 'failed' AND NOT deleted
GROUP BY 1, 2
UNION ALL
SELECT source, 'crawl: ' || reason, count(*)
FROM crawl_failures
GROUP BY 1, 2
ORDER BY 1, 3 DESC, 2
"""

RUNS_SQL = """
SELECT id, trigger, sources, status, started_at, finished_at, summary FROM runs ORDER BY id DESC LIMIT %s
"""

PROJECTION_SQL = """
SELECT id, method, created_at, n_fitted FROM projections ORDER BY created_at DESC, id DESC LIMIT 1
"""


def collection_status(conn: psycopg.Connection, runs: int = 5) -> dict[str, Any]:
    """{"sources": {name: {artworks, embedded, pending, failed, failures: {reason: n}}}, "projection": …,
    "runs": [the latest crawl → embed → project runs, newest first]}."""
    sources: dict[str, dict[str, Any]] = {}
    for source, artworks, embedded, pending, failed in conn.execute(COUNTS_SQL):
        sources[source] = _entry(artworks, embedded, pending, failed)
    for source, reason, count in conn.execute(FAILURES_SQL):
        sources.setdefault(source, _entry(0, 0, 0, 0))["failures"][reason] = count
    row = conn.execute(PROJECTION_SQL).fetchone()
    projection = None
    if row is not None:
        projection = {"id": row[0], "method": row[1], "created_at": row[2].isoformat(), "n_fitted": row[3]}
    return {"sources": dict(sorted(sources.items())), "projection": projection, "runs": recent_runs(conn, runs)}


def recent_runs(conn: psycopg.Connection, limit: int) -> list[dict[str, Any]]:
    """The latest runs (scheduled or by hand), newest first, with their summaries."""
    keys = ("id", "trigger", "sources", "status", "started_at", "finished_at", "summary")
    return [
        {k: v.isoformat() if isinstance(v, datetime) else v for k, v in zip(keys, row, strict=True)}
        for row in conn.execute(RUNS_SQL, (limit,))
    ]


def _entry(artworks: int, embedded: int, pending: int, failed: int) -> dict[str, Any]:
    return {"artworks": artworks, "embedded": embedded, "pending": pending, "failed": failed, "failures": {}}
