"""The runs table and the advisory lock that keeps two crawl → embed → project runs off one database at once.

The lock is a session-level Postgres advisory lock: it is held by the connection that took it, whatever the
transactions on it do, spans machines, and is released by the server itself when that session ends.
"""

from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

RUN_LOCK_KEY = 0x6172_7473  # "arts": one key for every run of crawl → embed → project

TRY_RUN_LOCK = "SELECT pg_try_advisory_lock(%s)"
RELEASE_RUN_LOCK = "SELECT pg_advisory_unlock(%s)"

# Run while holding the lock: no run is alive, so rows still 'running' are runs killed mid-run.
FAIL_INTERRUPTED_RUNS = """
UPDATE runs
SET status = 'failed', finished_at = now(), summary = summary || '{"error": "interrupted"}'::jsonb
WHERE status = 'running'
"""

INSERT_RUN = """
INSERT INTO runs (trigger, sources, status, summary, finished_at)
VALUES (%(trigger)s, %(sources)s, %(status)s, %(summary)s, CASE WHEN %(finished)s THEN now() END)
RETURNING id
"""

FINISH_RUN = "UPDATE runs SET status = %s, summary = %s, finished_at = now() WHERE id = %s"

LAST_SUCCESSFUL_START = "SELECT max(started_at) FROM runs WHERE status = 'succeeded' AND %s = ANY(sources)"


def try_run_lock(conn: psycopg.Connection) -> bool:
    """Take the run lock for this session unless another session holds it; never waits."""
    return conn.execute(TRY_RUN_LOCK, (RUN_LOCK_KEY,)).fetchone()[0]


def release_run_lock(conn: psycopg.Connection) -> None:
    """Give the run lock back while the session stays open (a closed session gives it back by itself)."""
    conn.execute(RELEASE_RUN_LOCK, (RUN_LOCK_KEY,))


def record_skipped_run(conn: psycopg.Connection, sources: list[str], trigger: str, summary: dict[str, Any]) -> int:
    """Keep an attempt that did not run (the lock was taken), finished at once, so the operator sees it."""
    with conn.transaction():
        return _insert_run(conn, sources, trigger, "skipped", summary, finished=True)


def start_run(conn: psycopg.Connection, sources: list[str], trigger: str) -> int:
    """Under the lock: mark runs that were killed mid-run failed, and record this one as running."""
    with conn.transaction():
        conn.execute(FAIL_INTERRUPTED_RUNS)
        return _insert_run(conn, sources, trigger, "running", {}, finished=False)


def finish_run(conn: psycopg.Connection, run_id: int, status: str, summary: dict[str, Any]) -> None:
    """Close a running run with how it ended and what it did."""
    with conn.transaction():
        conn.execute(FINISH_RUN, (status, Jsonb(summary), run_id))


def last_successful_start(conn: psycopg.Connection, source: str) -> datetime | None:
    """When the last successful run that covered `source` started: what changed after it is the next run's work."""
    return conn.execute(LAST_SUCCESSFUL_START, (source,)).fetchone()[0]


def _insert_run(
    conn: psycopg.Connection, sources: list[str], trigger: str, status: str, summary: dict[str, Any], finished: bool
) -> int:
    params = {"trigger": trigger, "sources": sources, "status": status, "summary": Jsonb(summary), "finished": finished}
    return conn.execute(INSERT_RUN, params).fetchone()[0]
