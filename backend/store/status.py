"""The collection's state per source, for `artsearch status` and the operators' scripts."""

from datetime import datetime
from typing import Any

import psycopg

from backend.models import QUEUED, EmbedStatus
from backend.store.hnsw import hnsw_index_bytes
from backend.store.projections import current_projection

COUNTS_SQL = f"""
SELECT source,
       count(*) AS artworks,
       count(*) FILTER (WHERE embed_status = '{EmbedStatus.EMBEDDED}') AS embedded,
       count(*) FILTER (WHERE embed_status IN {QUEUED}) AS pending,
       count(*) FILTER (WHERE embed_status = '{EmbedStatus.FAILED}') AS failed
FROM artworks
WHERE NOT deleted
GROUP BY source
"""

FAILURES_SQL = f"""
SELECT source, coalesce(embed_error, 'unknown') AS reason, count(*)
FROM artworks
WHERE embed_status = '{EmbedStatus.FAILED}' AND NOT deleted
GROUP BY 1, 2
UNION ALL
SELECT source, 'crawl: ' || reason, count(*)
FROM crawl_failures
GROUP BY 1, 2
ORDER BY 1, 3 DESC, 2
"""

SERVER_MEMORY_SQL = "SELECT current_setting('shared_buffers'), current_setting('maintenance_work_mem')"

RUNS_SQL = """
SELECT id, trigger, sources, status, started_at, finished_at, summary FROM runs ORDER BY id DESC LIMIT %s
"""


def collection_status(conn: psycopg.Connection, runs: int = 5) -> dict[str, Any]:
    """{"sources": {name: {artworks, embedded, pending, failed, failures: {reason: n}}}, "projection": …,
    "runs": [the latest crawl → embed → project runs, newest first], "server": its memory and the index size}."""
    sources: dict[str, dict[str, Any]] = {}
    for source, artworks, embedded, pending, failed in conn.execute(COUNTS_SQL):
        sources[source] = _entry(artworks, embedded, pending, failed)
    for source, reason, count in conn.execute(FAILURES_SQL):
        sources.setdefault(source, _entry(0, 0, 0, 0))["failures"][reason] = count
    current = current_projection(conn)
    projection = None
    if current is not None:
        projection = {
            "id": current.id, "method": current.method, "created_at": current.created_at.isoformat(),
            "n_fitted": current.n_fitted,
        }  # fmt: skip
    return {
        "sources": dict(sorted(sources.items())),
        "projection": projection,
        "runs": recent_runs(conn, runs),
        "server": server_memory(conn),
    }


def server_memory(conn: psycopg.Connection) -> dict[str, Any]:
    """The memory the server gives searches and index builds, beside the index that must fit it."""
    shared, maintenance = conn.execute(SERVER_MEMORY_SQL).fetchone()
    return {"shared_buffers": shared, "maintenance_work_mem": maintenance, "hnsw_index_bytes": hnsw_index_bytes(conn)}


def recent_runs(conn: psycopg.Connection, limit: int) -> list[dict[str, Any]]:
    """The latest runs (scheduled or by hand), newest first, with their summaries."""
    keys = ("id", "trigger", "sources", "status", "started_at", "finished_at", "summary")
    return [
        {k: v.isoformat() if isinstance(v, datetime) else v for k, v in zip(keys, row, strict=True)}
        for row in conn.execute(RUNS_SQL, (limit,))
    ]


def _entry(artworks: int, embedded: int, pending: int, failed: int) -> dict[str, Any]:
    return {"artworks": artworks, "embedded": embedded, "pending": pending, "failed": failed, "failures": {}}
