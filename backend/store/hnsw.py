"""The HNSW index as a unit of work: dropped for a bulk load (a first load writes many thousand vectors, and each
one inserted into a live index costs more than the rest of its write), built once at the end, never twice at once."""

import psycopg
from psycopg import sql

from backend.models import HNSW_EF_CONSTRUCTION, HNSW_INDEX, HNSW_KEY, HNSW_M, HNSW_OPS, QUEUED

INDEX_LOCK_KEY = 0x6172_7469  # "arti": whoever builds or drops the index holds this
# The index exactly as migration 0006 and backend.models define it (tests/test_migrations.py compares them).
CREATE_HNSW_INDEX = (
    f"CREATE INDEX IF NOT EXISTS {HNSW_INDEX} ON embeddings USING hnsw (({HNSW_KEY}) {HNSW_OPS}) "
    f"WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION})"
)
DROP_HNSW_INDEX = f"DROP INDEX IF EXISTS {HNSW_INDEX}"
INDEX_PRESENT = f"SELECT to_regclass('{HNSW_INDEX}') IS NOT NULL"
INDEX_BYTES = f"SELECT coalesce(pg_relation_size(to_regclass('{HNSW_INDEX}')), 0)"
QUEUE_SIZES = f"""
SELECT count(*) FILTER (WHERE embed_status IN {QUEUED}), (SELECT count(*) FROM embeddings)
FROM artworks WHERE NOT deleted
"""


def hnsw_index_bytes(conn: psycopg.Connection) -> int:
    """The index's size on disk (0 while it is missing): what the server's memory is sized for."""
    return conn.execute(INDEX_BYTES).fetchone()[0]


def begin_bulk_load(conn: psycopg.Connection, min_pending: int, ratio: float) -> bool:
    """Drop the index when the work ahead is a first load (at least min_pending to embed, and ratio times what is
    indexed already); True when this run is a bulk load: a missing index (a bulk load killed before its end) is one."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (INDEX_LOCK_KEY,))
        if not conn.execute(INDEX_PRESENT).fetchone()[0]:
            return True
        pending, embedded = conn.execute(QUEUE_SIZES).fetchone()
        if pending < min_pending or pending < ratio * embedded:
            return False
        conn.execute(DROP_HNSW_INDEX)
    return True


def ensure_index(conn: psycopg.Connection, maintenance_work_mem: str | None, workers: int) -> bool:
    """Build the index if it is missing, with parallel maintenance workers; True when this call built it.
    Searches go on meanwhile (exactly, without the index); writes wait for the build."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (INDEX_LOCK_KEY,))
        if conn.execute(INDEX_PRESENT).fetchone()[0]:
            return False
        if maintenance_work_mem:
            conn.execute(sql.SQL("SET LOCAL maintenance_work_mem = {}").format(sql.Literal(maintenance_work_mem)))
        conn.execute(sql.SQL("SET LOCAL max_parallel_maintenance_workers = {}").format(int(workers)))
        conn.execute(CREATE_HNSW_INDEX)
    return True
