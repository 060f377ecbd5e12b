"""Scheduled runs: crawl → embed → project on a cron expression, never two at once on one database.

The guard is a Postgres advisory lock (backend.store.runs) held by the running scheduler's connection, so it
spans machines and is released by the server itself if that process dies.
"""

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from croniter import croniter

from backend.database import connect
from backend.errors import ArtsearchError
from backend.store import runs

log = logging.getLogger(__name__)


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
        if not runs.try_run_lock(conn):
            summary = {"reason": "another run was in progress"}
            return RunOutcome(runs.record_skipped_run(conn, sources, trigger, summary), "skipped", summary)
        try:
            run_id = runs.start_run(conn, sources, trigger)
            try:
                summary, status = job(), "succeeded"
            except (ArtsearchError, OSError, RuntimeError, ValueError) as exc:
                log.exception("run %s failed", run_id)
                summary, status = {"error": str(exc)}, "failed"
            runs.finish_run(conn, run_id, status, summary)
            return RunOutcome(run_id, status, summary)
        finally:
            runs.release_run_lock(conn)
    finally:
        conn.close()


def last_success(url: str, source: str) -> datetime | None:
    """When the last successful run that covered `source` started: the next incremental run's --since."""
    with connect(url) as conn:
        return runs.last_successful_start(conn, source)


def validate_cron(expression: str) -> None:
    """A bad expression is a clear error before the scheduler starts waiting."""
    if not croniter.is_valid(expression):
        raise ArtsearchError(f"invalid cron expression {expression!r}; e.g. '0 3 * * *' for 03:00 every day")


def utc_now() -> datetime:
    """The wall clock in UTC, the zone cron expressions are read in."""
    return datetime.now(UTC)


def run_schedule(
    expression: str,
    fire: Callable[[], object],
    *,
    stop: threading.Event | None = None,
    max_fires: int | None = None,
    now: Callable[[], datetime] = utc_now,
    wait: Callable[[float], bool] | None = None,
) -> int:
    """Call `fire` at every time the cron expression names (UTC) until stopped; returns how often it fired.

    `now` tells the time and `wait(seconds)` sleeps, returning True when the schedule is to stop (by default
    `stop.wait`): a test passes a fake clock for both, so a minute passes without waiting for one.
    """
    validate_cron(expression)
    stop = stop or threading.Event()
    wait = wait or stop.wait
    fired = 0
    while max_fires is None or fired < max_fires:
        # From now, not from the last due time: a run longer than the interval skips, not piles up.
        due = croniter(expression, now()).get_next(datetime)
        log.info("next run at %s", due.isoformat())
        if wait(max(0.0, (due - now()).total_seconds())):
            break
        fire()
        fired += 1
    return fired
