"""Scheduled runs: crawl → embed → project on a cron expression, never two at once on one database.

The guard is a Postgres advisory lock held by the running scheduler's connection, so it spans machines and is
released by the server itself if that process dies.
"""

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from croniter import croniter
from psycopg.types.json import Jsonb

from backend.database import connect
from backend.errors import ArtsearchError

log = logging.getLogger(__name__)

RUN_LOCK_KEY = 0x6172_7473  # "arts": one key for every run of crawl → embed → project


@dataclass(frozen=True)
class RunOutcome:
    """What one attempt to run did: its row id, status and summary."""

    run_id: int
    status: str
    summary: dict[str, Any]


def run_exclusively(url: str, sources: list[str], trigger: str, job: Callable[[], dict[str, Any]]) -> RunOutcome:
    """Run `job` unless another run holds the lock; either way the attempt is kept in `runs`."""
    conn = connect(url, autocommit=True)
    try:
        if not conn.execute("SELECT pg_try_advisory_lock(%s)", (RUN_LOCK_KEY,)).fetchone()[0]:
            summary = {"reason": "another run was in progress"}
            return _record(conn, sources, trigger, "skipped", summary, finished=True)
        try:
            # Holding the lock means no run is alive: rows still 'running' were killed mid-run.
            conn.execute(
                "UPDATE runs SET status = 'failed', finished_at = now(), "
                "summary = summary || '{\"error\": \"interrupted\"}'::jsonb WHERE status = 'running'"
            )
            started = _record(conn, sources, trigger, "running", {}, finished=False)
            try:
                summary, status = job(), "succeeded"
            except (ArtsearchError, OSError, RuntimeError, ValueError) as exc:
                log.exception("run %s failed", started.run_id)
                summary, status = {"error": str(exc)}, "failed"
            conn.execute(
                "UPDATE runs SET status = %s, summary = %s, finished_at = now() WHERE id = %s",
                (status, Jsonb(summary), started.run_id),
            )
            return RunOutcome(started.run_id, status, summary)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (RUN_LOCK_KEY,))
    finally:
        conn.close()


def _record(conn, sources: list[str], trigger: str, status: str, summary: dict, finished: bool) -> RunOutcome:
    row = conn.execute(
        "INSERT INTO runs (trigger, sources, status, summary, finished_at) "
        "VALUES (%s, %s, %s, %s, CASE WHEN %s THEN now() END) RETURNING id",
        (trigger, sources, status, Jsonb(summary), finished),
    ).fetchone()
    return RunOutcome(row[0], status, summary)


def last_success(url: str, source: str) -> datetime | None:
    """When the last successful run that covered `source` started: the next incremental run's --since."""
    with connect(url) as conn:
        row = conn.execute(
            "SELECT max(started_at) FROM runs WHERE status = 'succeeded' AND %s = ANY(sources)", (source,)
        ).fetchone()
    return row[0]


def validate_cron(expression: str) -> None:
    """A bad expression is a clear error before the scheduler starts waiting."""
    if not croniter.is_valid(expression):
        raise ArtsearchError(f"invalid cron expression {expression!r}; e.g. '0 3 * * *' for 03:00 every day")


def run_schedule(
    expression: str,
    fire: Callable[[], object],
    *,
    stop: threading.Event | None = None,
    max_fires: int | None = None,
) -> int:
    """Call `fire` at every time the cron expression names (UTC) until stopped; returns how often it fired."""
    validate_cron(expression)
    stop = stop or threading.Event()
    fired = 0
    while max_fires is None or fired < max_fires:
        # From now, not from the last due time: a run longer than the interval skips, not piles up.
        due = croniter(expression, datetime.now(UTC)).get_next(datetime)
        log.info("next run at %s", due.isoformat())
        if stop.wait(max(0.0, (due - datetime.now(UTC)).total_seconds())):
            break
        fire()
        fired += 1
    return fired
